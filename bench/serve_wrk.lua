-- serve_wrk.lua — wrk script for bench/serve: POSTs one JSON inference request (golden mlp, 1x64) per call.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"inputs":[{"name":"x","shape":[1,64],"datatype":"FP32","data":[' .. string.rep("0.5,", 63) .. '0.5]}]}'

done = function(summary, latency, requests)
    io.write(string.format("wrk: %d requests, %d non-2xx, %d socket errors\n", summary.requests, summary.errors.status,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
