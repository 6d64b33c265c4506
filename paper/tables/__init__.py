"""One script per table of the paper (Markdown + LaTeX), reading collected results only."""
