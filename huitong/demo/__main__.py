"""`python -m huitong.demo DATA_DIR [--scale N] [--seed S]`: generate the SQLite demo sources."""

from .generate import main

main()
