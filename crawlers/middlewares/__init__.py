"""Downloader middlewares of brandguard's crawlers."""
