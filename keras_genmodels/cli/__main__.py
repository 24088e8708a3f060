"""`python -m keras_genmodels.cli` runs the command line."""

from keras_genmodels.cli.main import main

raise SystemExit(main())
