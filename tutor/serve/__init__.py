"""A classroom: the tutor served to browsers (server.py, one tutor process per learner) and the
teacher's view of a class directory (table.py). Neither imports Textual."""
