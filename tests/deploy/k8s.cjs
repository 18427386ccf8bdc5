// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// tools/deploy/daemonset.yaml against the Kubernetes schema, offline.
//
//   node tests/deploy/k8s.cjs NODE_DIR validate FILE   schema + bpfix's rules
//   node tests/deploy/k8s.cjs NODE_DIR pod FILE NAME   the DaemonSet's pod
//                                                      template as a Pod (and
//                                                      the ConfigMap), YAML
//
// NODE_DIR is where npm installed kubernetes-models and yaml (npm install
// --prefix NODE_DIR). validate prints one line per check and exits 1 if
// any failed: the schema's own errors (kubernetes-models' validate(), the
// OpenAPI schema of the Kubernetes release it was generated from) and what
// bpfix needs of the manifest (probes, capabilities, grace period, ...),
// which the schema cannot know.
"use strict";
const fs = require("fs");
const path = require("path");

const [nodeDir, cmd, file, podName] = process.argv.slice(2);
if (!nodeDir || !cmd || !file) {
	console.error("usage: k8s.cjs NODE_DIR validate|pod FILE [NAME]");
	process.exit(2);
}
const req = require("module").createRequire(path.join(path.resolve(nodeDir), "package.json"));
const YAML = req("yaml");
const models = {
	"v1/ConfigMap": req("kubernetes-models/v1").ConfigMap,
	"v1/Pod": req("kubernetes-models/v1").Pod,
	"apps/v1/DaemonSet": req("kubernetes-models/apps/v1").DaemonSet,
};

const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
for (const d of docs)
	if (d.errors.length) {
		console.error(`${file}: YAML: ${d.errors.map((e) => e.message).join("; ")}`);
		process.exit(1);
	}
const objs = docs.map((d) => d.toJS()).filter((o) => o);

let failed = 0;
function check(what, ok, detail) {
	console.log(`  ${ok ? "ok  " : "FAIL"} ${what}${ok || !detail ? "" : ": " + detail}`);
	if (!ok) failed++;
}

function validate() {
	for (const o of objs) {
		const kind = `${o.apiVersion}/${o.kind}`;
		const Model = models[kind];
		if (!Model) {
			check(`${kind} is a kind this check knows`, false);
			continue;
		}
		let err = null;
		try {
			new Model(o).validate();
		} catch (e) {
			err = e;
		}
		const msg = err && (err.errors ? err.errors.map((e) =>
			`${e.instancePath || e.dataPath || "/"} ${e.message}` +
			(e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : "")
		).join("; ") : String(err));
		check(`${o.kind} ${o.metadata && o.metadata.name}: Kubernetes schema`, !err, msg);
	}
	const ds = objs.find((o) => o.kind === "DaemonSet");
	const cm = objs.find((o) => o.kind === "ConfigMap");
	check("one DaemonSet", !!ds);
	if (!ds) return;
	const spec = ds.spec.template.spec;
	const c = (spec.containers || [])[0] || {};
	const sc = c.securityContext || {};
	const caps = (sc.capabilities || {});
	const port = (c.ports || []).find((p) => p.name === "metrics") || {};
	const probePort = (p) => p && p.httpGet &&
		(p.httpGet.port === port.name || p.httpGet.port === port.containerPort);
	const args = c.args || [];
	const argAfter = (flag) => args[args.indexOf(flag) + 1];

	check("selector matches the template's labels",
		Object.entries(ds.spec.selector.matchLabels || {}).every(([k, v]) =>
			(ds.spec.template.metadata.labels || {})[k] === v));
	check("hostNetwork", spec.hostNetwork === true);
	check("dnsPolicy ClusterFirstWithHostNet (hostNetwork)", spec.dnsPolicy === "ClusterFirstWithHostNet");
	check("tolerates every taint", (spec.tolerations || []).some((t) =>
		t.operator === "Exists" && !t.key && !t.effect));
	const shutdown = Number(argAfter("--shutdown-timeout") || 25);
	check(`terminationGracePeriodSeconds ${spec.terminationGracePeriodSeconds} > --shutdown-timeout ${shutdown}`,
		spec.terminationGracePeriodSeconds > shutdown);
	check("not privileged", sc.privileged !== true);
	check("capabilities: drop ALL", JSON.stringify(caps.drop) === '["ALL"]', JSON.stringify(caps.drop));
	check("capabilities: add exactly BPF, NET_ADMIN, PERFMON",
		JSON.stringify([...(caps.add || [])].sort()) === '["BPF","NET_ADMIN","PERFMON"]',
		JSON.stringify(caps.add));
	check("seccomp Unconfined (RuntimeDefault refuses bpf() without CAP_SYS_ADMIN)",
		(sc.seccompProfile || {}).type === "Unconfined");
	check("metrics port 9402/TCP", port.containerPort === 9402 && (port.protocol || "TCP") === "TCP");
	check("--metrics :9402", argAfter("--metrics") === ":9402", argAfter("--metrics"));
	check("livenessProbe GET /healthz on the metrics port",
		probePort(c.livenessProbe) && c.livenessProbe.httpGet.path === "/healthz");
	check("readinessProbe GET /readyz on the metrics port",
		probePort(c.readinessProbe) && c.readinessProbe.httpGet.path === "/readyz");
	const mounts = Object.fromEntries((c.volumeMounts || []).map((m) => [m.mountPath, m.name]));
	const vols = Object.fromEntries((spec.volumes || []).map((v) => [v.name, v.hostPath && v.hostPath.path]));
	check("hostPath /sys/fs/bpf at /sys/fs/bpf", vols[mounts["/sys/fs/bpf"]] === "/sys/fs/bpf");
	check("hostPath /run/bpfix at /run/bpfix", vols[mounts["/run/bpfix"]] === "/run/bpfix");
	const res = c.resources || {};
	check("memory and cpu requests and limits",
		["requests", "limits"].every((k) => res[k] && res[k].memory && res[k].cpu));
	// Every $(VAR) in args comes from the ConfigMap the container reads.
	const fromCm = (c.envFrom || []).some((e) => e.configMapRef && cm && e.configMapRef.name === cm.metadata.name);
	const vars = args.join(" ").match(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g) || [];
	const missing = vars.map((v) => v.slice(2, -1)).filter((v) => !(fromCm && cm.data && v in cm.data));
	check("args' $(VARS) all in the ConfigMap", vars.length > 0 && missing.length === 0, missing.join(" "));
	check("ConfigMap values one argument each (no white space)",
		cm && Object.values(cm.data || {}).every((v) => !/\s/.test(String(v))));
}

function pod() {
	const ds = objs.find((o) => o.kind === "DaemonSet");
	const out = objs.filter((o) => o.kind === "ConfigMap").map((o) => YAML.stringify(o));
	const p = {
		apiVersion: "v1",
		kind: "Pod",
		metadata: { ...ds.spec.template.metadata, name: podName || ds.metadata.name,
			namespace: ds.metadata.namespace },
		spec: ds.spec.template.spec,
	};
	new models["v1/Pod"](p).validate();
	out.push(YAML.stringify(p));
	process.stdout.write(out.join("---\n"));
}

if (cmd === "validate") {
	validate();
	process.exit(failed ? 1 : 0);
} else if (cmd === "pod") {
	pod();
} else {
	console.error(`k8s.cjs: no command ${cmd}`);
	process.exit(2);
}
