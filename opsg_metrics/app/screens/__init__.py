"""The pages' layouts: Streamlit functions each page calls with what it has read and fetched.

One module a page; every function takes what it shows as parameters (no page globals).
"""
