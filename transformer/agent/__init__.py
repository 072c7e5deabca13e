"""The run-time agent: log in, fetch, render, execve.

It imports nothing from the deploy-time side (``transformer.*`` outside this
package): it runs on every pod start, inside a frozen bundle, and its start-up
cost is measured.
"""
