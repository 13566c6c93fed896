"""check_deploy.py — a structural check of deploy/ without a cluster: every manifest parses, names and ports agree
across Deployment, Service, HPA and InferenceService, probes hit the v2 health paths, one GPU per pod, the grace
period outlasts the drain, the HPA's metric is one the server exports, and the Dockerfile serves on those ports."""
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, Report  # noqa: E402

report = Report('serve-deploy')
DEPLOY = os.path.join(ROOT, 'deploy')
docs = {}
for name in sorted(os.listdir(os.path.join(DEPLOY, 'kubernetes'))):
    with open(os.path.join(DEPLOY, 'kubernetes', name)) as f:
        for doc in yaml.safe_load_all(f):
            ok = isinstance(doc, dict) and {'apiVersion', 'kind', 'metadata'} <= set(doc) and doc['metadata'].get('name')
            report.check(ok, f'{name}: a {doc.get("kind") if isinstance(doc, dict) else "?"} with apiVersion and name')
            if ok:
                docs[doc['kind']] = doc


def arg(args, flag):
    return args[args.index(flag) + 1] if flag in args else None


def probes(c, port):
    live, ready = c.get('livenessProbe', {}).get('httpGet', {}), c.get('readinessProbe', {}).get('httpGet', {})
    return live.get('path') == '/v2/health/live' and ready.get('path') == '/v2/health/ready' and \
        live.get('port') == port and ready.get('port') == port


dep, svc, hpa, isvc = (docs.get(k) for k in ('Deployment', 'Service', 'HorizontalPodAutoscaler', 'InferenceService'))
report.check(all((dep, svc, hpa, isvc, docs.get('PersistentVolumeClaim'))), 'Deployment, Service, HPA, InferenceService, PVC')
pod = dep['spec']['template']
c = pod['spec']['containers'][0]
ports = {p['name']: p['containerPort'] for p in c['ports']}
report.check(dep['spec']['selector']['matchLabels'].items() <= pod['metadata']['labels'].items(),
             'Deployment selector matches its pods')
report.check(ports == {'http': int(arg(c['args'], '--http-port')), 'grpc': int(arg(c['args'], '--grpc-port'))},
             'container ports are the ports infer serve is told to use', str(ports))
report.check(probes(c, 'http'), 'Deployment probes: /v2/health/live and /v2/health/ready')
report.check(c['resources']['limits'].get('nvidia.com/gpu') == 1 and arg(c['args'], '--device') == 'cuda',
             'one GPU per pod, --device cuda')
pause = int(c['lifecycle']['preStop']['exec']['command'][-1])
report.check(pod['spec']['terminationGracePeriodSeconds'] > pause + int(arg(c['args'], '--drain-timeout-s')),
             'grace period outlasts the preStop pause and the SIGTERM drain')
vol = {v['name']: v for v in pod['spec']['volumes']}
mount = {m['name']: m['mountPath'] for m in c['volumeMounts']}
report.check(set(mount) <= set(vol) and c['args'][0] == mount.get('models') and
             vol['models']['persistentVolumeClaim']['claimName'] == docs['PersistentVolumeClaim']['metadata']['name'],
             'the model repository volume is mounted where infer serve reads it')
report.check(svc['spec']['selector'].items() <= pod['metadata']['labels'].items() and
             {p['targetPort'] for p in svc['spec']['ports']} <= set(ports), 'Service selects the pods, targets their ports')
ref = hpa['spec']['scaleTargetRef']
report.check(ref['kind'] == 'Deployment' and ref['name'] == dep['metadata']['name'], 'HPA scales the Deployment')
with open(os.path.join(ROOT, 'server', 'metrics.c')) as f:
    exported = set(re.findall(r'\b(infer_[a-z_]+)\{', f.read()))
metric = hpa['spec']['metrics'][0]['pods']['metric']['name']
report.check(metric in exported, f'HPA metric {metric} is exported by the server', str(sorted(exported)))
ic = isvc['spec']['predictor']['containers'][0]
report.check(isvc['apiVersion'] == 'serving.kserve.io/v1beta1' and ic['name'] == 'kserve-container',
             'InferenceService: v1beta1, custom predictor container')
report.check(ic['ports'][0]['containerPort'] == int(arg(ic['args'], '--http-port')) and
             probes(ic, ic['ports'][0]['containerPort']) and ic['resources']['limits'].get('nvidia.com/gpu') == 1,
             'InferenceService: port, probes, one GPU')
with open(os.path.join(DEPLOY, 'Dockerfile')) as f:
    docker = f.read()
expose = {int(p) for p in re.findall(r'^EXPOSE (.*)$', docker, re.M)[0].split()}
report.check(expose == set(ports.values()) and 'ENTRYPOINT ["/opt/infer/infer", "serve"]' in docker and
             re.search(r'^FROM .* AS build$', docker, re.M), 'Dockerfile: builds, serves, exposes the same ports')
report.done()
