"""explain-mlops: the EXPLAIN MLOps platform, converged from one stack config."""

from explain_infra.program import main

main()
