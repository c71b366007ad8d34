from heyrender.cli import main

main(prog_name="heyrender")
