"""The office's reports: the disclosure clock, the review register, monthly and yearly figures.

Each module answers one question with aggregate SQL (counts grouped in the database, not
rows loaded into Python) and returns plain dataclasses and lists the console renders,
prints and writes to spreadsheets:

- :mod:`.period` — a month, a date range or a year, as Beijing-time bounds;
- :mod:`.clock` — when each item is due (N working days from being formed or changed);
- :mod:`.register` — the confidentiality review register (信息发布保密审查表);
- :mod:`.monthly` — the monthly figures; :mod:`.yearly` — the annual report's shapes;
- :mod:`.charts` — bars as SVG, drawn on the server (the console's CSP allows no scripts);
- :mod:`.workbook` — tables to an .xlsx with one sheet each (call it in a thread).
"""
