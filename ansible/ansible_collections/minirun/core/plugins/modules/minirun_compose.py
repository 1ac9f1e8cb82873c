#!/usr/bin/python
# A Compose project brought to its declared state by `minirun apply`.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: minirun_compose
short_description: Make a host run a Compose file's services with minirun apply
description:
  - C(present) runs C(minirun apply --format json): missing services are created, changed
    ones recreated, the rest left untouched (not restarted), services no longer declared
    removed; C(changed) is apply's own verdict. Check mode runs C(apply --dry-run).
  - C(absent) runs C(minirun down) when the project has containers.
options:
  project_src: {description: Directory holding compose.yaml (or docker-compose.yml)., type: path}
  files: {description: The Compose file (one)., type: list, elements: path}
  project_name: {type: str}
  state: {type: str, default: present, choices: [present, absent]}
  pull: {type: str, default: missing, choices: [missing, always, never]}
  build: {description: Build images of services with C(build:) before applying., type: bool, default: false}
  profiles: {type: list, elements: str}
  services: {description: Only these services (and their dependencies)., type: list, elements: str}
  wait_timeout: {description: Seconds to wait for depends_on conditions., type: int}
  remove_volumes: {description: With state=absent, remove the project's named volumes too., type: bool, default: false}
"""

RETURN = r"""
services: {description: "Per service: service, container, action (created, recreated (why), unchanged, removed, failed).", returned: state=present, type: list}
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.minirun.core.plugins.module_utils.minirun import Minirun

NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def compose_file(module):
    p = module.params
    if p["files"]:
        if len(p["files"]) != 1:
            module.fail_json(msg="files: minirun applies one Compose file (got %d)" % len(p["files"]))
        f = p["files"][0]
        if p["project_src"] and not os.path.isabs(f):
            f = os.path.join(p["project_src"], f)
        return f
    if not p["project_src"]:
        module.fail_json(msg="give project_src or files")
    for n in NAMES:
        f = os.path.join(p["project_src"], n)
        if os.path.isfile(f):
            return f
    if module.check_mode and p["state"] == "present":
        # An earlier task would have put the file there: report what the run would do.
        module.exit_json(changed=True, msg="check mode: %s has no Compose file yet; it would be applied" % p["project_src"])
    module.fail_json(msg="%s: no compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml" % p["project_src"])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_src=dict(type="path"),
            files=dict(type="list", elements="path"),
            project_name=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            pull=dict(type="str", default="missing", choices=["missing", "always", "never"]),
            build=dict(type="bool", default=False),
            profiles=dict(type="list", elements="str"),
            services=dict(type="list", elements="str"),
            wait_timeout=dict(type="int"),
            remove_volumes=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    m = Minirun(module)
    f = compose_file(module)
    if not os.path.isfile(f):
        if module.check_mode and p["state"] == "present":
            module.exit_json(changed=True, msg="check mode: %s does not exist yet; it would be applied" % f)
        module.fail_json(msg="%s: no such Compose file" % f)
    project = ["-p", p["project_name"]] if p["project_name"] else []

    if p["state"] == "absent":
        listing = m.json(["ps", "-a", "--format", "json", "--filter", f] if not p["project_name"] else
                         ["ps", "-a", "--format", "json", "--filter",
                          "label=com.docker.compose.project=" + p["project_name"].lower()])
        names = sorted(c.get("Name") for c in listing)
        if names and not module.check_mode:
            m.run(["down", "-f", f] + project + (["-v"] if p["remove_volumes"] else []))
        result = dict(changed=bool(names), removed=names)
        if module._diff:
            result["diff"] = dict(before="\n".join(names) + ("\n" if names else ""), after="")
        module.exit_json(**result)

    args = ["apply", "-f", f] + project + ["--pull", p["pull"], "--format", "json"]
    if p["build"]:
        args.append("--build")
    for prof in p["profiles"] or []:
        args += ["--profile", prof]
    if p["wait_timeout"] is not None:
        args += ["--wait-timeout", str(p["wait_timeout"])]
    if module.check_mode:
        args.append("--dry-run")
    args += p["services"] or []
    rc, out, err = m.run(args, check_rc=False)
    try:
        doc = json.loads(out)
    except ValueError:
        m.fail(args, rc, out, err)
    services = doc.get("services", [])
    result = dict(changed=bool(doc.get("changed")), project=doc.get("project"), services=services)
    if module._diff:
        result["diff"] = dict(prepared="".join("%s: %s\n" % (s.get("service"), s.get("action")) for s in services))
    if rc != 0 or not doc.get("ok", True):
        failed = [s for s in services if s.get("error")]
        why = "; ".join("%s: %s" % (s.get("service"), s.get("error", "failed")) for s in failed)
        lines = [line for line in err.splitlines() if line.strip()]
        module.fail_json(msg=why or (lines[-1] if lines else "minirun apply failed (exit %d)" % rc), rc=rc, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
