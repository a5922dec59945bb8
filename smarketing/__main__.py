from smarketing.cli import main

main()
