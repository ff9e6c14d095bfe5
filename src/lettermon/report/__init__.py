"""Reports: charts, breakdowns and exports of a letter's history."""
