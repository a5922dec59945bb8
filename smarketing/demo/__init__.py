"""Demo and benchmark data: `smarketing seed` (records only) and `smarketing demo` (records, users, a server).

Each app generates its own rows (the CRM's in `smarketing.crm.demo`); this app orders the generators, creates
the demo users when asked, and loads the rows in bulk (load.py: COPY on PostgreSQL, executemany on SQLite).
"""
