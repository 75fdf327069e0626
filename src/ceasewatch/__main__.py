from ceasewatch.cli import main

main()
