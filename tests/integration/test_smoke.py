# covers: S2
async def test_health_and_ca(appliance):
    async with appliance.session() as s:
        h = await s.get("/healthz")
        assert h["status"] == "ok"
        async with s.http.get(appliance.url + "/lab-ca.pem", ssl=s.ssl) as r:
            assert "BEGIN CERTIFICATE" in await r.text()
        await s.post("/api/cloud/accounts", {"email": "a@x.test", "name": "A", "password": "smoke-test-pass"})
        await s.sign_in_cloud("a@x.test", "smoke-test-pass")
        org = await s.post("/api/cloud/orgs", {"name": "Org"})
        assert org["role"] == "admin"
