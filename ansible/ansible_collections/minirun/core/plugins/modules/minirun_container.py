#!/usr/bin/python
# A container managed by minirun, in the manner of community.docker.docker_container.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: minirun_container
short_description: Manage a minirun container
description:
  - Creates, recreates, starts, stops or removes one container with the minirun CLI.
  - The requested configuration is stored in the container's label
    C(org.minirun.ansible.spec); the container is recreated when it differs, when the
    local image's id differs from the container's, or with I(recreate). Otherwise it is
    left alone (not restarted), and C(changed) is false.
  - Supports check mode and --diff (the stored and the requested configuration).
options:
  name: {description: Container name., required: true, type: str}
  image: {description: Image reference; required unless I(state=absent)., type: str}
  state:
    description:
      - C(started) running; C(stopped) exists and is stopped; C(present) exists (created
        running when missing, as minirun has no create-only command); C(absent) removed.
    type: str
    default: started
    choices: [started, stopped, present, absent]
  command: {description: Command (string, split as a shell would, or list)., type: raw}
  entrypoint: {description: Entrypoint override., type: str}
  env: {description: Environment variables., type: dict}
  ports: {description: "Published ports, C([ip:]host:container[/proto])", type: list, elements: str}
  volumes: {description: "C(source:target[:ro]) (named volume or host path)", type: list, elements: str}
  networks:
    description: "C({name: NET, aliases: [...]}) each; the first holds the default route and the ports, the others are joined with C(network connect) before the start."
    type: list
    elements: dict
  restart_policy: {type: str, choices: ["no", on-failure, always, unless-stopped]}
  restart_retries: {type: int}
  pull:
    description: C(always) pulls before comparing image ids (C(true) means always); C(missing) (C(false)) only when absent.
    type: str
    default: missing
  recreate: {description: Recreate even when nothing changed., type: bool, default: false}
  healthcheck:
    description: "C(test) (list as in Compose, or a shell string), C(interval), C(timeout), C(retries), C(start_period)."
    type: dict
  labels: {type: dict}
  log_driver: {type: str}
  log_options: {type: dict}
  memory: {type: str}
  cpus: {type: float}
  pids_limit: {type: int}
  user: {type: str}
  working_dir: {type: str}
  hostname: {type: str}
  stop_timeout: {description: Seconds to wait on stop before SIGKILL., type: int}
  tls_verify:
    description:
      - False reaches the registry over plain http or unverified TLS for this task only
        (minirun --insecure-registry), as the containers.podman option of that name.
    type: bool
    default: true
"""

EXAMPLES = r"""
- minirun.core.minirun_container:
    name: users
    image: "{{ registry }}/seed/users:1.0"
    ports: ["80:5000"]
    env: {MONGO_URI: "mongodb://db:27017/users"}
    restart_policy: unless-stopped
    healthcheck: {test: ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/health')"], interval: 5s}
"""

RETURN = r"""
container: {description: The container's inspect document after the task (absent: none)., returned: success, type: dict}
actions: {description: What was done (created, recreated, started, stopped, removed)., returned: always, type: list}
"""

import json
import shlex

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.minirun.core.plugins.module_utils.minirun import Minirun, insecure_registries, registry_of

SPEC_LABEL = "org.minirun.ansible.spec"
SPEC_KEYS = ("image", "command", "entrypoint", "env", "ports", "volumes", "networks", "restart_policy",
             "restart_retries", "healthcheck", "labels", "log_driver", "log_options", "memory", "cpus",
             "pids_limit", "user", "working_dir", "hostname", "stop_timeout")


def requested_spec(p):
    """The configuration that decides recreation: every creation option, normalised."""
    spec = {k: p[k] for k in SPEC_KEYS if p.get(k) not in (None, [], {})}
    if isinstance(spec.get("command"), str):
        spec["command"] = shlex.split(spec["command"])
    for k in ("env", "labels", "log_options"):
        if k in spec:
            spec[k] = {str(a): str(b) for a, b in spec[k].items()}
    return spec


def health_args(h):
    test = h.get("test")
    args = []
    if isinstance(test, list):
        if test and test[0] == "NONE":
            return ["--no-healthcheck"]
        if test and test[0] == "CMD-SHELL":
            test = " ".join(test[1:])
        elif test and test[0] == "CMD":
            test = shlex.join(test[1:])
        else:
            test = shlex.join(test)
    if test:
        args += ["--health-cmd", test]
    for key, flag in (("interval", "--health-interval"), ("timeout", "--health-timeout"),
                      ("retries", "--health-retries"), ("start_period", "--health-start-period")):
        if h.get(key) is not None:
            args += [flag, str(h[key])]
    return args


def run_args(name, spec, pull, verb="run"):
    a = ([verb, "-d"] if verb == "run" else [verb]) + ["-q", "--name", name, "--pull", pull]
    if spec.get("restart_policy"):
        policy = spec["restart_policy"]
        if policy == "on-failure" and spec.get("restart_retries"):
            policy += ":%d" % spec["restart_retries"]
        a += ["--restart", policy]
    for k, v in sorted(spec.get("env", {}).items()):
        a += ["-e", "%s=%s" % (k, v)]
    for p in spec.get("ports", []):
        a += ["-p", p]
    for v in spec.get("volumes", []):
        a += ["-v", v]
    for net in spec.get("networks", [])[:1]:
        a += ["--network", net["name"]]
        for alias in net.get("aliases") or []:
            a += ["--network-alias", alias]
    for k, v in sorted(spec.get("labels", {}).items()):
        a += ["-l", "%s=%s" % (k, v)]
    a += ["-l", "%s=%s" % (SPEC_LABEL, json.dumps(spec, sort_keys=True, separators=(",", ":")))]
    if spec.get("log_driver"):
        a += ["--log-driver", spec["log_driver"]]
    for k, v in sorted(spec.get("log_options", {}).items()):
        a += ["--log-opt", "%s=%s" % (k, v)]
    if spec.get("healthcheck"):
        a += health_args(spec["healthcheck"])
    for key, flag in (("memory", "--memory"), ("cpus", "--cpus"), ("pids_limit", "--pids-limit"),
                      ("user", "--user"), ("working_dir", "--workdir"), ("hostname", "--hostname"),
                      ("entrypoint", "--entrypoint"), ("stop_timeout", "--stop-timeout")):
        if spec.get(key) is not None:
            a += [flag, str(spec[key])]
    a.append(spec["image"])
    a += spec.get("command", [])
    return a


def main():
    module = AnsibleModule(
        argument_spec=dict(
            tls_verify=dict(type="bool", default=True),
            name=dict(type="str", required=True),
            image=dict(type="str"),
            state=dict(type="str", default="started", choices=["started", "stopped", "present", "absent"]),
            command=dict(type="raw"),
            entrypoint=dict(type="str"),
            env=dict(type="dict"),
            ports=dict(type="list", elements="str"),
            volumes=dict(type="list", elements="str"),
            networks=dict(type="list", elements="dict"),
            restart_policy=dict(type="str", choices=["no", "on-failure", "always", "unless-stopped"]),
            restart_retries=dict(type="int"),
            pull=dict(type="str", default="missing"),
            recreate=dict(type="bool", default=False),
            healthcheck=dict(type="dict"),
            labels=dict(type="dict"),
            log_driver=dict(type="str"),
            log_options=dict(type="dict"),
            memory=dict(type="str"),
            cpus=dict(type="float"),
            pids_limit=dict(type="int"),
            user=dict(type="str"),
            working_dir=dict(type="str"),
            hostname=dict(type="str"),
            stop_timeout=dict(type="int"),
        ),
        required_if=[("state", "started", ["image"]), ("state", "stopped", ["image"]), ("state", "present", ["image"])],
        supports_check_mode=True,
    )
    p = module.params
    pull = {"true": "always", "yes": "always", "false": "missing", "no": "missing"}.get(str(p["pull"]).lower(), p["pull"])
    if pull not in ("always", "missing", "never"):
        module.fail_json(msg="pull: use always, missing or never (got %s)" % p["pull"])
    for i, net in enumerate(p["networks"] or []):
        if not net.get("name"):
            module.fail_json(msg="networks[%d]: name is required" % i)
    insecure = insecure_registries(p["tls_verify"], p["image"] and registry_of(p["image"]))
    m = Minirun(module, insecure=insecure)
    name = p["name"]
    current = m.container(name)
    actions = []
    result = dict(changed=False, actions=actions)

    if p["state"] == "absent":
        if current:
            actions.append("removed")
            if not module.check_mode:
                m.run(["rm", "-f", name])
        result["changed"] = bool(actions)
        if module._diff:
            result["diff"] = dict(before={"exists": bool(current)}, after={"exists": False})
        module.exit_json(**result)

    spec = requested_spec(p)
    before = None
    reason = None
    if current:
        stored = current.get("Config", {}).get("Labels", {}).get(SPEC_LABEL)
        try:
            before = json.loads(stored) if stored else None
        except ValueError:
            before = None
        if pull == "always" and not module.check_mode:
            m.run(["pull", "-q", spec["image"]])
        image_id = m.image_id(spec["image"])
        if p["recreate"]:
            reason = "recreate requested"
        elif before != spec:
            reason = "configuration changed" if before is not None else "not created by this module"
        elif image_id and image_id != current.get("ImageID"):
            reason = "image changed"

    if not current or reason:
        actions.append("recreated (%s)" % reason if current else "created")
        if not module.check_mode:
            if current:
                m.run(["rm", "-f", name])
            further = spec.get("networks", [])[1:]
            if further:
                # As docker_container does: made on its first network, joined to the others
                # before it starts.
                m.run(run_args(name, spec, pull, verb="create"))
                for net in further:
                    connect = ["network", "connect"]
                    for alias in net.get("aliases") or []:
                        connect += ["--alias", alias]
                    m.run(connect + [net["name"], name])
                if p["state"] != "stopped":
                    m.run(["start", name])
            else:
                m.run(run_args(name, spec, pull))
            if p["state"] == "stopped":
                if not further:
                    m.run(["stop", name])
                actions.append("stopped")
    else:
        running = current.get("State", {}).get("Running", False)
        if p["state"] == "started" and not running:
            actions.append("started")
            if not module.check_mode:
                m.run(["start", name])
        elif p["state"] == "stopped" and running:
            actions.append("stopped")
            if not module.check_mode:
                args = ["stop", name]
                if p["stop_timeout"] is not None:
                    args[1:1] = ["-t", str(p["stop_timeout"])]
                m.run(args)

    result["changed"] = bool(actions)
    if module._diff:
        result["diff"] = dict(before=json.dumps(before, indent=2, sort_keys=True) + "\n" if before else "",
                              after=json.dumps(spec, indent=2, sort_keys=True) + "\n")
    if not module.check_mode:
        result["container"] = m.container(name) if actions else current  # unchanged: no third inspect
    module.exit_json(**result)


if __name__ == "__main__":
    main()
