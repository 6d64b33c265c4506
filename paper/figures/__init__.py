"""One script per figure of the paper, reading collected results only."""
