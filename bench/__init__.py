"""The speed-and-cost benchmark: ogi-extract per format, beside its floor and its peers.

    python -m bench [--runs 3] [--formats ...] [--no-peers] [--llm] [--markdown FILE] [--json FILE]

Modules: ``corpus`` builds the corpus (seeds, the published sample PDF, and every gold file
rendered to GB18030 text, HTML, DOCX, PDF and a scanned PDF); ``worker`` times one kind of work
on a list of files in a fresh process (our extractor, the pymupdf floor, or a peer) and reports
its peak RSS; ``peers`` turns pdfplumber's and pymupdf's own table finders into our Document so
they meet the same template mapping; ``llm_cost`` compares the LLM-only and hybrid engines'
calls and tokens; ``report`` prints the table the README carries.
"""
