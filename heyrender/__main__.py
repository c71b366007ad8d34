from heyrender.cli import main

main()
