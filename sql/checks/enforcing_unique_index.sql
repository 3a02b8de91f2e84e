-- A unique index PostgreSQL enforces on exactly the key columns, all NOT NULL: when there is one,
-- the keys cannot be NULL or duplicated, and the key check need not scan the table.
SELECT i.indexrelid::regclass::text
FROM pg_index i
WHERE i.indrelid = to_regclass(quote_ident(%(table)s))
  AND i.indisunique AND i.indisvalid AND i.indimmediate
  AND i.indpred IS NULL AND i.indexprs IS NULL
  AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FILTER (WHERE a.attnotnull)
       FROM pg_attribute a
       WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey))
      = (SELECT array_agg(k ORDER BY k) FROM unnest(%(keys)s::text[]) k)
  AND i.indnatts = i.indnkeyatts AND i.indnkeyatts = cardinality(%(keys)s::text[])
LIMIT 1;
