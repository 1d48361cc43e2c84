# Kept "for reference" from the Python 2 version; nothing imports it.
import os


def run(command):
    print "running %s" % command
    exec command
    return os.system(command)
