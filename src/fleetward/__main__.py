from fleetward.entrypoints.cli import main

main()
