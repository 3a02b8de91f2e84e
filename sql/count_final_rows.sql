-- Each final table's rows and its current ones (roles not deleted, assigned
-- mappings, open intervals, current versions), as its triggers keep them.
SELECT table_name, row_count, current_rows FROM final_table_counts;
