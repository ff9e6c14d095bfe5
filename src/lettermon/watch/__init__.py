"""Watching a letter: fetch its pages, read them with a source adapter, crawl, poll."""
