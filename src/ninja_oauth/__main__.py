from ninja_oauth.cli import main

main()
