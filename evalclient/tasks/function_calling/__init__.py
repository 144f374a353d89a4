"""Function-calling tasks: bfcl (BFCL's non-live AST categories) and toolllama (ToolBench step metrics)."""
