#!/usr/bin/python
# Registry credentials for minirun, in the manner of community.docker.docker_login.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: minirun_login
short_description: Log minirun into a registry, or out of it
description:
  - C(present) verifies the credentials against the registry and saves them with
    C(minirun login --password-stdin) (the password never appears on a command line);
    when the same credentials are already saved nothing is done and C(changed) is false,
    unless I(reauthorize).
  - C(absent) removes saved credentials (C(minirun logout)).
  - The credentials file is the one minirun uses C($REGISTRY_AUTH_FILE), else
    C($DOCKER_CONFIG/config.json), else C(~/.docker/config.json).
options:
  registry_url: {description: "Registry host[:port].", type: str, required: true, aliases: [registry]}
  username: {type: str}
  password: {type: str, no_log: true}
  reauthorize: {type: bool, default: false}
  state: {type: str, default: present, choices: [present, absent]}
  tls_verify:
    description:
      - False reaches the registry over plain http or unverified TLS for this task only
        (minirun --insecure-registry), as the containers.podman option of that name.
    type: bool
    default: true
"""

import base64
import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.minirun.core.plugins.module_utils.minirun import Minirun, insecure_registries


def auth_file():
    if os.environ.get("REGISTRY_AUTH_FILE"):
        return os.environ["REGISTRY_AUTH_FILE"]
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(base, "config.json")


def saved_auth(registry):
    try:
        with open(auth_file()) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    entry = doc.get("auths", {}).get(registry)
    return entry.get("auth") if isinstance(entry, dict) else None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            tls_verify=dict(type="bool", default=True),
            registry_url=dict(type="str", required=True, aliases=["registry"]),
            username=dict(type="str"),
            password=dict(type="str", no_log=True),
            reauthorize=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ["username", "password"])],
        supports_check_mode=True,
    )
    p = module.params
    insecure = insecure_registries(p["tls_verify"], p["registry_url"])
    m = Minirun(module, insecure=insecure)
    registry = p["registry_url"]
    saved = saved_auth(registry)
    if p["state"] == "absent":
        if saved is not None and not module.check_mode:
            m.run(["logout", registry])
        module.exit_json(changed=saved is not None)
    wanted = base64.b64encode(("%s:%s" % (p["username"], p["password"])).encode()).decode()
    if saved == wanted and not p["reauthorize"]:
        module.exit_json(changed=False)
    if not module.check_mode:
        m.run(["login", "-u", p["username"], "--password-stdin", registry], data=p["password"])
        if saved_auth(registry) is None:
            module.fail_json(msg="minirun login %s: credentials not found in %s afterwards" % (registry, auth_file()))
    module.exit_json(changed=saved != wanted)


if __name__ == "__main__":
    main()
