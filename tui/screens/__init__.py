"""The screens of the flow, one module each."""
