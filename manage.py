#!/usr/bin/env python3
from smarketing.cli import main

if __name__ == "__main__":
    main()
