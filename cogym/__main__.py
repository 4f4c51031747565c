from cogym.cli import main

main(prog_name="cogym")
