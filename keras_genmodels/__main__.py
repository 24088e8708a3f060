"""`python -m keras_genmodels` runs the `keras-genmodels` command line."""

from keras_genmodels.cli.main import main

raise SystemExit(main())
