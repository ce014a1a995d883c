"""The live change feed: changes published after commit, fanned out to subscribers."""
