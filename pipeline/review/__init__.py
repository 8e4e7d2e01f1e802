"""The review report of a release: overlays, plots and one page (data/qa/)."""
