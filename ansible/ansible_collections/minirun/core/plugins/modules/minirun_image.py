#!/usr/bin/python
# Images in minirun's store: pulled, built with imgbuild, pushed, removed.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: minirun_image
short_description: Pull, build, push or remove an image in minirun's store
description:
  - C(changed) compares the image id (config digest) before and after, so an unchanged
    pull or a build that is all cache hits reports false.
options:
  name: {description: "Image reference (with tag).", type: str, required: true}
  state: {type: str, default: present, choices: [present, absent]}
  source:
    description:
      - C(pull) from the registry (when missing, or always with I(force_source));
        C(build) with imgbuild (every time: the step cache makes an unchanged build cheap,
        and the same id means unchanged); C(local) must exist already.
    type: str
    default: pull
    choices: [pull, build, local]
  force_source: {description: Pull or build even when the image is present., type: bool, default: false}
  build:
    description: "C(path) (context), C(dockerfile), C(args) (dict), C(target)."
    type: dict
  push: {description: Push the image to its registry afterwards., type: bool, default: false}
  force: {description: With state=absent, remove even when containers use it., type: bool, default: false}
  tls_verify:
    description:
      - False reaches the registry over plain http or unverified TLS for this task only
        (minirun --insecure-registry), as the containers.podman option of that name.
    type: bool
    default: true
"""

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.minirun.core.plugins.module_utils.minirun import Minirun, insecure_registries, registry_of


def main():
    module = AnsibleModule(
        argument_spec=dict(
            tls_verify=dict(type="bool", default=True),
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            source=dict(type="str", default="pull", choices=["pull", "build", "local"]),
            force_source=dict(type="bool", default=False),
            build=dict(type="dict"),
            push=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
        ),
        required_if=[("source", "build", ["build"])],
        supports_check_mode=True,
    )
    p = module.params
    insecure = insecure_registries(p["tls_verify"], registry_of(p["name"]))
    m = Minirun(module, insecure=insecure)
    name = p["name"]
    before = m.image_id(name)
    actions = []

    if p["state"] == "absent":
        if before:
            actions.append("removed")
            if not module.check_mode:
                m.run(["rmi"] + (["-f"] if p["force"] else []) + [name])
        module.exit_json(changed=bool(actions), actions=actions)

    after = before
    if p["source"] == "local" and not before:
        module.fail_json(msg="image %s is not in the store (source: local)" % name)
    if p["source"] == "pull" and (not before or p["force_source"]):
        if module.check_mode:
            if not before:
                actions.append("pulled")
        else:
            m.run(["pull", "-q", name])
            after = m.image_id(name)
            if after != before:
                actions.append("pulled")
    # A build always runs: with imgbuild's step cache an unchanged context is all cache
    # hits and gives the same id, so `changed` says whether the context changed.
    if p["source"] == "build":
        b = p["build"]
        if not b.get("path"):
            module.fail_json(msg="build.path: the build context is required")
        if module.check_mode:
            if not before:
                actions.append("built")
        else:
            ib = Minirun(module, "imgbuild", insecure=insecure)
            args = ["build", "-q", "-t", name]
            if b.get("dockerfile"):
                args += ["-f", b["dockerfile"]]
            for k, v in sorted((b.get("args") or {}).items()):
                args += ["--build-arg", "%s=%s" % (k, v)]
            if b.get("target"):
                args += ["--target", b["target"]]
            ib.run(args + [b["path"]])
            after = m.image_id(name)
            if after != before:
                actions.append("built")
    if p["push"]:
        if module.check_mode:
            actions.append("push (check mode: not compared with the registry)")
        else:
            _, out, _ = m.run(["push", name])
            counts = re.search(r"\((\d+) blobs uploaded, (\d+) mounted", out)
            if not counts or int(counts.group(1)) + int(counts.group(2)) > 0:
                actions.append("pushed")
    result = dict(changed=bool(actions), actions=actions, image_id=after)
    if module._diff:
        result["diff"] = dict(before="id: %s\n" % before, after="id: %s\n" % after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
