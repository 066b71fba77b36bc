"""The Streamlit app's pages (UI only: they call ``rag`` and ``ingest``)."""
