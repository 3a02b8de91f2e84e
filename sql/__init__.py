"""The SQL files: this package makes the folder importable, so ``importlib.resources`` finds it in
a wheel and in an editable install alike."""
