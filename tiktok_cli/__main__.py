from tiktok_cli.cli import main

main()
