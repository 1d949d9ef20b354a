"""Rosters as offices keep them: read their spreadsheets, compare, apply, export.

``columns`` maps the headers offices use to fields and checks each row; ``compare``
matches rows to residents on record (stable key, else phone within the grid) and
reports adds, changes, unchanged rows, errors and who is missing; ``apply`` writes the
good rows; ``export`` gives back the same columns.
"""
