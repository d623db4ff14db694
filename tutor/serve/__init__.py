"""A classroom: the tutor served to browsers (server.py, one tutor process per learner), the
teacher's view of a class directory (table.py) and a simulated learner over the websocket
(probe.py, for the load test and its bench). None of them imports Textual."""
