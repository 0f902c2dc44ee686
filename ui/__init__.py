"""The only Streamlit-aware shared code: URL state, cached adapters over interp_core, components."""
