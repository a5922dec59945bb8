"""The CRM's demo data: companies, contacts, deals, tasks, notes and their timeline, as table rows.

`smarketing.demo` orchestrates a seed (users, campaigns, loading); this package only generates rows, without
touching the database. common.py holds the shapes (columns, ids, clock), campaigns.py the year's campaign
calendar, generator.py the companies, people and deals, journey.py each contact's touches and history.
"""
