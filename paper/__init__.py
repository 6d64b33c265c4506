"""The paper layer: one script per table and figure, `write_paper`, and what they share (`common`).

Run from the repository root as modules (`python -m paper.tables.tab_ovr ...`), as make does."""
