/**
 * The local stack's development PKI: one CA, a server certificate for localhost, and one client
 * certificate per demo recipient. Generated with WebCrypto (@peculiar/x509) so it works wherever
 * Node runs, written as PEM files, and reused on the next start.
 *
 * Never use this material outside a developer machine: the CA key sits next to its certificate.
 */
import 'reflect-metadata'; // @peculiar/x509 (via tsyringe) needs a Reflect metadata polyfill.
import * as x509 from '@peculiar/x509';
import { X509Certificate, createHash, createPrivateKey, webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** The demo recipients whose client certificates the dev PKI holds. */
export const DEMO_CLIENT_IDS = ['tpp-alpha', 'tpp-beta'] as const;

/** The demo Data Providers: clients of the Notifier management API (certificate + notifier scopes). */
export const DEMO_PROVIDER_IDS = ['provider-demo'] as const;

/** SANs of the server certificate. */
export const SERVER_NAMES = { dns: ['localhost'], ip: ['127.0.0.1', '::1'] } as const;

const subtle = webcrypto.subtle;
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const EC_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const RSA_ALGORITHM = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600 * 1000;
/** Backdated so a certificate minted a moment ago is valid on a peer whose clock is a little behind. */
const BACKDATE_MS = 5 * 60 * 1000;
const CA_DAYS = 3650;
const LEAF_DAYS = 825;
/** Leaves this close to expiry are reissued on start. */
const RENEW_BEFORE_MS = 7 * DAY_MS;

/** A CA that can issue certificates. Plain PEM, so it can be passed around and stored. */
export interface CertificateAuthority {
  readonly name: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** SHA-256 of the certificate's DER, lowercase hex. */
  readonly fingerprint: string;
}

/** A certificate and its private key (PKCS#8 PEM). */
export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  /** SHA-256 of the certificate's DER, lowercase hex: the recipient registry's key. */
  readonly fingerprint: string;
}

export interface IssuedClientCertificate extends IssuedCertificate {
  readonly clientId: string;
}

export interface IssueOptions {
  /** @default 5 minutes ago */
  readonly notBefore?: Date;
  /** @default 825 days from now */
  readonly notAfter?: Date;
}

export interface PkiFile {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface DevClient extends IssuedClientCertificate, PkiFile {}

export interface DevServer extends IssuedCertificate, PkiFile {}

export interface DevPki {
  /** Absolute folder the PKI lives in. */
  readonly dir: string;
  readonly ca: CertificateAuthority;
  readonly caCertFile: string;
  readonly caKeyFile: string;
  readonly caCertPem: string;
  readonly server: DevServer;
  readonly clients: readonly DevClient[];
  /** Whether this call generated anything (false: everything was reused). */
  readonly created: boolean;
}

export interface DevPkiOptions {
  /** @default DEMO_CLIENT_IDS */
  readonly clientIds?: readonly string[];
}

/** SHA-256 over a PEM certificate's DER, lowercase hex. */
export function fingerprintOfPem(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
}

/** A new self-signed ECDSA P-256 CA, in memory. Tests use it as a foreign CA. */
export async function createCertificateAuthority(name: string, options: IssueOptions = {}): Promise<CertificateAuthority> {
  const keys = (await subtle.generateKey(EC_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [name] }],
    keys,
    serialNumber: randomSerial(),
    notBefore: options.notBefore ?? new Date(now - BACKDATE_MS),
    notAfter: options.notAfter ?? new Date(now + CA_DAYS * DAY_MS),
    signingAlgorithm: EC_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString('pem');
  return { name, certPem, keyPem: await privateKeyPem(keys.privateKey), fingerprint: fingerprintOfPem(certPem) };
}

/** A client certificate (CN = client id, EKU clientAuth) issued by `ca`, with a new P-256 key. */
export async function issueClientCertificate(ca: CertificateAuthority, clientId: string, options: IssueOptions = {}): Promise<IssuedClientCertificate> {
  if (!clientId) throw new TypeError('clientId is required');
  const issued = await issueLeaf(ca, [{ CN: [clientId] }], [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false)], options);
  return { clientId, ...issued };
}

/** A TLS server certificate for localhost / 127.0.0.1 / ::1 (EKU serverAuth) issued by `ca`. */
export async function issueServerCertificate(ca: CertificateAuthority, options: IssueOptions = {}): Promise<IssuedCertificate> {
  const san = new x509.SubjectAlternativeNameExtension([
    ...SERVER_NAMES.dns.map((value) => ({ type: 'dns' as const, value })),
    ...SERVER_NAMES.ip.map((value) => ({ type: 'ip' as const, value })),
  ]);
  return issueLeaf(ca, [{ CN: ['localhost'] }], [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false), san], options);
}

/**
 * Loads the dev PKI from `dir`, creating what is missing: the CA first (a new CA means every leaf
 * is reissued), then the server certificate and one client certificate per client id. Leaves that
 * are missing, unparsable, not issued by the CA, or about to expire are reissued; everything else
 * is reused as is, so a second start keeps the same certificates and fingerprints.
 */
export async function loadOrCreateDevPki(dir: string, options: DevPkiOptions = {}): Promise<DevPki> {
  const root = resolve(dir);
  const clientIds = options.clientIds ?? DEMO_CLIENT_IDS;
  for (const id of clientIds) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new TypeError(`Client id ${JSON.stringify(id)} cannot name a certificate file`);
  }
  await mkdir(join(root, 'clients'), { recursive: true, mode: 0o700 });
  let created = false;

  const caCertFile = join(root, 'ca.pem');
  const caKeyFile = join(root, 'ca-key.pem');
  let ca = await readCa(caCertFile, caKeyFile);
  if (!ca) {
    ca = await createCertificateAuthority('setpoll local dev CA');
    await writePair({ certFile: caCertFile, keyFile: caKeyFile }, ca);
    created = true;
  }

  const leaf = async (files: PkiFile, issue: () => Promise<IssuedCertificate>): Promise<IssuedCertificate> => {
    const existing = await readLeaf(files, ca);
    if (existing) return existing;
    const issued = await issue();
    await writePair(files, issued);
    created = true;
    return issued;
  };

  const serverFiles = { certFile: join(root, 'server.pem'), keyFile: join(root, 'server-key.pem') };
  const server = await leaf(serverFiles, () => issueServerCertificate(ca));
  const clients: DevClient[] = [];
  for (const clientId of clientIds) {
    const files = { certFile: join(root, 'clients', `${clientId}.pem`), keyFile: join(root, 'clients', `${clientId}-key.pem`) };
    const issued = await leaf(files, () => issueClientCertificate(ca, clientId));
    clients.push({ clientId, ...files, certPem: issued.certPem, keyPem: issued.keyPem, fingerprint: issued.fingerprint });
  }

  return {
    dir: root,
    ca,
    caCertFile,
    caKeyFile,
    caCertPem: ca.certPem,
    server: { ...serverFiles, certPem: server.certPem, keyPem: server.keyPem, fingerprint: server.fingerprint },
    clients,
    created,
  };
}

/** Writes a certificate and its key (0600) as PEM files, each atomically. */
export async function writePair(files: PkiFile, material: { certPem: string; keyPem: string }): Promise<void> {
  await writeAtomic(files.keyFile, material.keyPem, 0o600);
  await writeAtomic(files.certFile, material.certPem, 0o644);
}

async function issueLeaf(ca: CertificateAuthority, subject: x509.JsonName, extra: x509.Extension[], options: IssueOptions): Promise<IssuedCertificate> {
  const keys = (await subtle.generateKey(EC_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const caCert = new x509.X509Certificate(ca.certPem);
  const { key: caKey, algorithm } = await importSigningKey(ca.keyPem);
  const now = Date.now();
  const notBefore = options.notBefore ?? new Date(now - BACKDATE_MS);
  const cert = await x509.X509CertificateGenerator.create({
    subject,
    issuer: caCert.subjectName,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: algorithm,
    serialNumber: randomSerial(),
    notBefore,
    notAfter: options.notAfter ?? new Date(Math.max(now, notBefore.getTime()) + LEAF_DAYS * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ...extra,
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  const certPem = cert.toString('pem');
  return { certPem, keyPem: await privateKeyPem(keys.privateKey), fingerprint: fingerprintOfPem(certPem) };
}

/** Imports a PEM private key (EC P-256 or RSA) for signing certificates. */
async function importSigningKey(keyPem: string): Promise<{ key: CryptoKey; algorithm: webcrypto.EcdsaParams | webcrypto.RsaHashedImportParams }> {
  const keyObject = createPrivateKey(keyPem);
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  if (keyObject.asymmetricKeyType === 'ec') {
    return { key: (await subtle.importKey('pkcs8', der, EC_ALGORITHM, false, ['sign'])) as CryptoKey, algorithm: EC_ALGORITHM };
  }
  if (keyObject.asymmetricKeyType === 'rsa') {
    return { key: (await subtle.importKey('pkcs8', der, RSA_ALGORITHM, false, ['sign'])) as CryptoKey, algorithm: RSA_ALGORITHM };
  }
  throw new TypeError(`Unsupported CA key type ${keyObject.asymmetricKeyType}; use EC P-256 or RSA`);
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END PRIVATE KEY-----\n`;
}

/** 16 random bytes with the top bit clear: a positive serial number of at most 20 octets. */
function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

async function readCa(certFile: string, keyFile: string): Promise<CertificateAuthority | undefined> {
  const pair = await readPair({ certFile, keyFile });
  if (!pair) return undefined;
  const { cert, certPem, keyPem } = pair;
  if (!cert.ca || !usable(cert) || !cert.checkPrivateKey(createPrivateKey(keyPem))) return undefined;
  const name = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? cert.subject;
  return { name, certPem, keyPem, fingerprint: fingerprintOfPem(certPem) };
}

async function readLeaf(files: PkiFile, ca: CertificateAuthority): Promise<IssuedCertificate | undefined> {
  const pair = await readPair(files);
  if (!pair) return undefined;
  const { cert, certPem, keyPem } = pair;
  const caCert = new X509Certificate(ca.certPem);
  if (!usable(cert) || !cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return undefined;
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return undefined;
  return { certPem, keyPem, fingerprint: fingerprintOfPem(certPem) };
}

async function readPair(files: PkiFile): Promise<{ cert: X509Certificate; certPem: string; keyPem: string } | undefined> {
  if (!existsSync(files.certFile) || !existsSync(files.keyFile)) return undefined;
  try {
    const [certPem, keyPem] = await Promise.all([readFile(files.certFile, 'utf8'), readFile(files.keyFile, 'utf8')]);
    return { cert: new X509Certificate(certPem), certPem, keyPem };
  } catch {
    return undefined;
  }
}

function usable(cert: X509Certificate): boolean {
  const now = Date.now();
  return Date.parse(cert.validFrom) <= now + BACKDATE_MS && Date.parse(cert.validTo) > now + RENEW_BEFORE_MS;
}

async function writeAtomic(file: string, content: string, mode: number): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode });
  await chmod(tmp, mode); // writeFile's mode is masked by the umask
  await rename(tmp, file);
}
