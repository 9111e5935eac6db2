"""Ideas, vetting and ballot projects (DESIGN.md §2) — built by the ideas and vetting issue."""
