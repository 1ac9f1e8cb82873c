# Shared by the minirun.core modules: running the minirun CLI on the managed host and
# reading its JSON (never its tables).
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json


def registry_of(ref):
    """The registry host[:port] of an image reference, as Docker reads it."""
    first, slash, _ = ref.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def insecure_registries(tls_verify, registry):
    """[registry] when TLS verification is off for it: Minirun's insecure argument."""
    return [] if tls_verify or not registry else [registry]


class Minirun:
    """The minirun (or imgbuild) command on the managed host. insecure: registries reached
    over plain http (or unverified TLS) for these commands only, as podman's --tls-verify=false."""

    def __init__(self, module, program="minirun", insecure=()):
        self.module = module
        self.program = program
        self.path = module.get_bin_path(program, required=True)
        self.global_args = [a for r in insecure for a in ("--insecure-registry", r)]

    def run(self, args, data=None, check_rc=True):
        cmd = [self.path] + self.global_args + [str(a) for a in args]
        rc, out, err = self.module.run_command(cmd, data=data, binary_data=data is not None)
        if check_rc and rc != 0:
            self.fail(args, rc, out, err)
        return rc, out, err

    def fail(self, args, rc, out, err, **extra):
        lines = [line for line in (err or out or "").splitlines() if line.strip()]
        reason = lines[-1] if lines else "exit status %d" % rc
        self.module.fail_json(msg="%s %s: %s" % (self.program, args[0], reason), rc=rc,
                              stdout=out, stderr=err, **extra)

    def json(self, args):
        _, out, err = self.run(args)
        try:
            return json.loads(out)
        except ValueError:
            self.module.fail_json(msg="%s %s: output is not JSON" % (self.program, args[0]), stdout=out, stderr=err)

    def inspect(self, name):
        """The container's or image's inspect document, or None when there is none."""
        rc, out, _ = self.run(["inspect", name], check_rc=False)
        if rc != 0:
            return None
        try:
            doc = json.loads(out)
        except ValueError:
            return None
        if isinstance(doc, list):
            return doc[0] if doc else None
        return doc

    def container(self, name):
        doc = self.inspect(name)
        # `inspect` falls back to images: a container document has a State.
        return doc if doc and "State" in doc else None

    def image_id(self, ref):
        doc = self.inspect(ref)
        if not doc or "State" in doc:
            return None
        return doc.get("Id")
