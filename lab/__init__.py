"""The glance-hc lab: real controllers on loopback (Keystone, Glance under uWSGI, HAProxy, sshd in
mount namespaces), Ceph, Swift, a Kolla-style container, and real faults to inject.

Run from the checkout as root: `python3 -m lab up | down | status | env | fault ...` (lab/__main__.py).
Layout: common (paths, what `up` chose, running commands; imported by all, imports none of them),
control (outside: install, namespaces, up/down/status), controller (inside a controller: configs
from templates/, services), faults, ceph, swift, kolla; templates/ holds every config file.
"""
