"""Local fakes of the networks lettermon posts to; fixtures are in :mod:`fakes.fixtures`."""
