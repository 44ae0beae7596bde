//! [`SigV4Signer`]: AWS Signature Version 4 on every attempt, through `aws-sigv4`.

use super::BACKEND;
use super::credentials::{AwsCredentials, Provider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use mlops_core::http::{Request, Signer, header::HeaderName, header::HeaderValue};
use mlops_core::{Error, Result};
use std::sync::Arc;
use std::time::SystemTime;

/// Signs each attempt anew (the signature covers `X-Amz-Date`), with credentials
/// from the configured source (static keys, a profile, or an assumed role).
/// Signs `content-type`, `host`, `x-amz-date`, `x-amz-target` (and
/// `x-amz-security-token` for temporary credentials), like botocore.
#[derive(Debug, Clone)]
pub struct SigV4Signer {
    provider: Arc<Provider>,
    region: String,
    service: &'static str,
    fixed_time: Option<SystemTime>,
}

impl SigV4Signer {
    pub(crate) fn new(provider: Arc<Provider>, region: String, service: &'static str) -> Self {
        Self {
            provider,
            region,
            service,
            fixed_time: None,
        }
    }

    /// A signer with static credentials for `service` (`sagemaker`, `sts`) in `region`.
    pub fn with_static(credentials: AwsCredentials, region: &str, service: &'static str) -> Self {
        Self::new(
            Arc::new(Provider::Static(credentials)),
            region.to_string(),
            service,
        )
    }

    /// Signs as if the clock said `time` (for reproducible signatures in tests).
    pub fn with_fixed_time(mut self, time: SystemTime) -> Self {
        self.fixed_time = Some(time);
        self
    }

    /// Adds `Authorization`, `X-Amz-Date` (and `X-Amz-Security-Token`) to `request`.
    ///
    /// # Errors
    /// `Unauthenticated` when the credentials cannot be obtained or used.
    pub async fn sign_request(&self, request: &mut Request) -> Result<()> {
        let creds = self.provider.credentials().await?;
        let identity = aws_credential_types::Credentials::new(
            creds.access_key_id(),
            creds.secret().expose(),
            creds.session_token().map(|t| t.expose().clone()),
            None,
            "mlops-rs",
        )
        .into();
        let fail = |what: &str, e: &dyn std::fmt::Display| Error::Unauthenticated {
            backend: BACKEND.to_string(),
            message: format!("sigv4 {what}: {e}"),
        };
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service)
            .time(self.fixed_time.unwrap_or_else(SystemTime::now))
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| fail("parameters", &e))?
            .into();
        // Only the headers botocore signs; user-agent and friends stay unsigned.
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .filter(|(k, _)| k.as_str() == "content-type" || k.as_str().starts_with("x-amz-"))
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let body = request
            .body()
            .and_then(|b| b.as_bytes())
            .unwrap_or_default();
        let url = request.url().to_string();
        let signable = SignableRequest::new(
            request.method().as_str(),
            &url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .map_err(|e| fail("request", &e))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| fail("signing", &e))?
            .into_parts();
        let (new_headers, _params) = instructions.into_parts();
        for h in new_headers {
            let name =
                HeaderName::from_bytes(h.name().as_bytes()).map_err(|e| fail("header name", &e))?;
            let mut value =
                HeaderValue::from_str(h.value()).map_err(|e| fail("header value", &e))?;
            value.set_sensitive(h.sensitive());
            request.headers_mut().insert(name, value);
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Signer for SigV4Signer {
    async fn sign(&self, request: &mut Request) -> Result<()> {
        self.sign_request(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlops_core::Secret;

    #[tokio::test]
    async fn signs_like_botocore() {
        let creds = AwsCredentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
            None,
        );
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_913_127);
        let signer = SigV4Signer::with_static(creds, "us-east-1", "sagemaker").with_fixed_time(t);
        let mut req = Request::new(
            mlops_core::http::Method::POST,
            "http://127.0.0.1:5406/".parse().unwrap(),
        );
        for (k, v) in [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "SageMaker.ListModelPackageGroups"),
            ("user-agent", "x"),
        ] {
            req.headers_mut().insert(k, v.parse().unwrap());
        }
        *req.body_mut() = Some("{}".into());
        signer.sign(&mut req).await.unwrap();
        let auth = req.headers()["authorization"].to_str().unwrap().to_string();
        assert!(auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261129/us-east-1/sagemaker/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="
        ), "{auth}");
        assert_eq!(req.headers()["x-amz-date"], "20261129T004527Z");
        assert!(!format!("{signer:?}").contains("wJalr"));
    }
}
