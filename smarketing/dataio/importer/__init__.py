"""The importer: csv rows in, CRM records out. runner.py drives a run; records.py and deals.py write."""
