--
-- PostgreSQL database dump
--

\restrict Qvu6sOnM76abAzRxZqYEh0sz1qIfZJfMNeot7k77D4I4kRcMCf6dEqpJkkq3v2O

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: comparisons; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.comparisons (
    record_key integer NOT NULL,
    baseline_session_key integer NOT NULL,
    session_key integer NOT NULL,
    aligned integer NOT NULL,
    improved integer NOT NULL,
    worsened integer NOT NULL,
    changed integer NOT NULL,
    quality_flags text NOT NULL
);


--
-- Name: measurements; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.measurements (
    record_key integer NOT NULL,
    role text NOT NULL,
    session_key integer NOT NULL,
    photo_sha256 text NOT NULL,
    width integer NOT NULL,
    height integer NOT NULL,
    CONSTRAINT measurements_role_check CHECK ((role = ANY (ARRAY['session'::text, 'baseline'::text])))
);


--
-- Name: meta; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.meta (
    key text NOT NULL,
    value text NOT NULL
);


--
-- Name: records; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.records (
    record_key integer NOT NULL,
    id text NOT NULL COLLATE pg_catalog."C",
    kind text NOT NULL,
    subject_key integer NOT NULL,
    session_key integer NOT NULL,
    baseline_session_key integer,
    date text,
    sort_key text COLLATE pg_catalog."C",
    photo_sha256 text NOT NULL,
    texturecmp_version text NOT NULL,
    record_schema_version integer NOT NULL,
    added_at text NOT NULL,
    body text NOT NULL,
    CONSTRAINT records_kind_check CHECK ((kind = ANY (ARRAY['measurement'::text, 'comparison'::text])))
);


--
-- Name: records_record_key_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.records_record_key_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: records_record_key_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.records_record_key_seq OWNED BY public.records.record_key;


--
-- Name: sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sessions (
    session_key integer NOT NULL,
    subject_key integer NOT NULL,
    session text NOT NULL COLLATE pg_catalog."C",
    date text
);


--
-- Name: sessions_session_key_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.sessions_session_key_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: sessions_session_key_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.sessions_session_key_seq OWNED BY public.sessions.session_key;


--
-- Name: subjects; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.subjects (
    subject_key integer NOT NULL,
    subject text NOT NULL COLLATE pg_catalog."C"
);


--
-- Name: subjects_subject_key_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.subjects_subject_key_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: subjects_subject_key_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.subjects_subject_key_seq OWNED BY public.subjects.subject_key;


--
-- Name: records record_key; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.records ALTER COLUMN record_key SET DEFAULT nextval('public.records_record_key_seq'::regclass);


--
-- Name: sessions session_key; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions ALTER COLUMN session_key SET DEFAULT nextval('public.sessions_session_key_seq'::regclass);


--
-- Name: subjects subject_key; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.subjects ALTER COLUMN subject_key SET DEFAULT nextval('public.subjects_subject_key_seq'::regclass);


--
-- Data for Name: comparisons; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.comparisons VALUES (2, 1, 2, 1, 26, 0, 1, '');
INSERT INTO public.comparisons VALUES (3, 3, 4, 1, 26, 0, 1, '');


--
-- Data for Name: measurements; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.measurements VALUES (1, 'session', 1, '03fcb2a969b7e791c4ccf97a600c2e1b29a2e7a4e8856fdf897e0e2d22bfe412', 256, 192);
INSERT INTO public.measurements VALUES (2, 'session', 2, '701213d1460eaff17a0099ea9a234b08717ffc422f9891bf26e6d962108b9141', 256, 192);
INSERT INTO public.measurements VALUES (2, 'baseline', 1, '03fcb2a969b7e791c4ccf97a600c2e1b29a2e7a4e8856fdf897e0e2d22bfe412', 256, 192);
INSERT INTO public.measurements VALUES (3, 'session', 4, '701213d1460eaff17a0099ea9a234b08717ffc422f9891bf26e6d962108b9141', 256, 192);
INSERT INTO public.measurements VALUES (3, 'baseline', 3, '03fcb2a969b7e791c4ccf97a600c2e1b29a2e7a4e8856fdf897e0e2d22bfe412', 256, 192);


--
-- Data for Name: meta; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.meta VALUES ('application', 'texturecmp-records');
INSERT INTO public.meta VALUES ('store_version', '2');
INSERT INTO public.meta VALUES ('migrated_at', '2026-12-04T23:03:34.447374Z');


--
-- Data for Name: records; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.records VALUES (1, '77ec613dc252cc159437aa12b73f867109f243d4096f951a8c8b8ea15ce4e157', 'measurement', 1, 1, NULL, '2026-01-05', '2026-01-05', '03fcb2a969b7e791c4ccf97a600c2e1b29a2e7a4e8856fdf897e0e2d22bfe412', '0.1.0', 1, '2026-12-04T23:03:34.448581Z', '{"calibration":null,"date":"2026-01-05","kind":"measurement","metrics":{"color.L":{"note":"","uncertainty":0.20131370019088257,"unit":"L*","value":67.21166769911845},"color.a":{"note":"","uncertainty":0.3143133776161066,"unit":"a*","value":14.181627602005998},"color.b":{"note":"","uncertainty":0.12723370230031322,"unit":"b*","value":19.818534047032397},"color.erythema_index":{"note":"","uncertainty":0.4073669684985367,"unit":"","value":25.673890724227928},"color.ita_deg":{"note":"","uncertainty":0.48030605410540983,"unit":"°","value":40.97311329152364},"color.melanin_index":{"note":"","uncertainty":0.26370384713522976,"unit":"","value":23.45425341437237},"color.unevenness":{"note":"","uncertainty":0.1687967343641789,"unit":"ΔE00","value":2.220482034533933},"pore.area_fraction":{"note":"","uncertainty":0.0021129989615089064,"unit":"","value":0.01202392578125},"pore.density":{"note":"","uncertainty":1.2313806338561974,"unit":"1/10⁴px²","value":8.544921875},"pore.mean_diameter":{"note":"","uncertainty":0.19324900100194817,"unit":"px","value":4.06410343369245},"quality.clipped_fraction":{"note":"","uncertainty":0.0,"unit":"","value":0.0},"quality.sharpness":{"note":"","uncertainty":0.22608018607780062,"unit":"L*²/px²","value":10.246075886322801},"quality.specular_fraction":{"note":"","uncertainty":0.0,"unit":"","value":0.0},"scar.border_sharpness":{"note":"","uncertainty":0.010213810328608299,"unit":"L*/px","value":0.16974779711032176},"scar.delta_L":{"note":"","uncertainty":0.14450348443414981,"unit":"L*","value":-2.992656844706758},"scar.delta_a":{"note":"","uncertainty":0.34568873023303953,"unit":"a*","value":9.465848967685442},"scar.delta_b":{"note":"","uncertainty":0.12221934225733698,"unit":"b*","value":2.684363203055657},"scar.delta_e00":{"note":"","uncertainty":0.20053971557093708,"unit":"ΔE00","value":6.369954980742745},"scar.delta_erythema":{"note":"","uncertainty":0.4532307576842508,"unit":"","value":12.803618604600846},"scar.delta_melanin":{"note":"","uncertainty":0.25214301535102146,"unit":"","value":-3.36494276258788},"scar.texture_ratio":{"note":"","uncertainty":0.0233439373628004,"unit":"","value":0.487031031293847},"scar.visibility_excess":{"note":"","uncertainty":0.21901257482543843,"unit":"ΔE00","value":3.5730395706268108},"scar.visible_area":{"note":"","uncertainty":716.2785280508306,"unit":"px²","value":3631.0000522993505},"scar.visible_fraction":{"note":"","uncertainty":0.0,"unit":"","value":1.0},"texture.anisotropy":{"note":"","uncertainty":0.005933167586273679,"unit":"","value":0.04278810722974905},"texture.band_coarse":{"note":"","uncertainty":0.06147265944295052,"unit":"L*","value":0.8130653608658461},"texture.band_fine":{"note":"","uncertainty":0.026501713881098593,"unit":"L*","value":1.1754966308419599},"texture.band_medium":{"note":"","uncertainty":0.05374107984788834,"unit":"L*","value":0.8855808288229459},"texture.glcm_contrast":{"note":"","uncertainty":0.24912852935902174,"unit":"","value":8.19197533812077},"texture.glcm_correlation":{"note":"","uncertainty":0.028389300978348676,"unit":"","value":0.4332850650408649},"texture.glcm_energy":{"note":"","uncertainty":0.00034618082938183705,"unit":"","value":0.01362359725542909},"texture.glcm_entropy":{"note":"","uncertainty":0.052079111638873674,"unit":"bit","value":6.685965932317144},"texture.glcm_homogeneity":{"note":"","uncertainty":0.00549694807411624,"unit":"","value":0.34991631458426836},"texture.lbp_entropy":{"note":"","uncertainty":0.008181693342782041,"unit":"bit","value":2.853475386465329},"texture.sa":{"note":"","uncertainty":0.045120104966110956,"unit":"L*","value":2.07188481092453},"texture.sq":{"note":"","uncertainty":0.08258043394291303,"unit":"L*","value":2.677451407137641},"wrinkle.density":{"note":"","uncertainty":0.010217361483141342,"unit":"","value":0.0438232421875},"wrinkle.depth":{"note":"","uncertainty":0.05599761491249341,"unit":"L*","value":0.22203321677322188},"wrinkle.length_density":{"note":"","uncertainty":0.0014378504360524902,"unit":"px/px²","value":0.006673176900449107}},"photo":{"bit_depth":32,"format":null,"height":192,"sha256":"03fcb2a969b7e791c4ccf97a600c2e1b29a2e7a4e8856fdf897e0e2d22bfe412","width":256},"pixel_size_mm":null,"quality_flags":[],"regions":{"lesion":{"area_px":3631,"mask_sha256":"06fd5eabd6eec14ad7a195a99b4ec6812f065422f8bd8fb3d32560ad10f29eb4"},"reference":{"area_px":10424,"default":"ring"},"roi":{"area_px":49152,"mask_sha256":"e7b1c6f4ccef568c19723f174b7f97f24c508327d22262dbaf7f0afc23205f9a"}},"schema_version":1,"session":"week0","settings":{"align_max_side":768,"anisotropy_sigma_mm":0.5,"band_coarse_mm":[0.5,2.0],"band_fine_mm":[0.05,0.15],"band_medium_mm":[0.15,0.5],"blur_ratio":0.7,"border_width_mm":0.5,"capture_multiplier":1.0,"capture_prior_df":8.0,"chart_method":"cheung2004","chart_reference":"ColorChecker24 - After November 2014","clipped_max":0.01,"detail_sigma_mm":2.0,"exposure_shift_max":2.0,"fixed_light":false,"glcm_bin_width":1.0,"glcm_distance_mm":0.1,"glcm_levels":32,"jnd_delta_e00":2.3,"lbp_radius_mm":0.05,"map_max_side":768,"min_correlation":0.3,"min_overlap":0.5,"min_sharpness":0.5,"min_tile_mm":1.0,"nominal_pixel_size_mm":0.05,"pore_diameter_mm":[0.15,0.6],"pore_threshold":2.5,"reference_ring":[1.0,2.0],"specular_max":0.005,"target_tiles":64,"unevenness_sigma_mm":0.5,"visibility_sigma_mm":0.25,"wrinkle_elongation":3.0,"wrinkle_min_length_mm":1.0,"wrinkle_sigmas_mm":[0.1,0.2,0.4],"wrinkle_threshold":1.2,"z":1.96},"settings_sha256":"095510ea2621e08995e77261bf7c63c587e44e0b48ea9168f7a2792ff6b6225b","subject":"P-0001","texturecmp_version":"0.1.0","warnings":[]}');
INSERT INTO public.records VALUES (2, 'f81faf17f6c0524d5c011b4e7a5354f161c15d3576caf9e766140e9bd5ee9f04', 'comparison', 1, 2, 1, '2026-02-02T09:30:00+01:00', '2026-02-02T08:30:00', '701213d1460eaff17a0099ea9a234b08717ffc422f9891bf26e6d962108b9141', '0.1.0', 1, '2026-12-04T23:03:34.448581Z', '{"alignment":{"correlation_after":0.9892794938549763,"correlation_before":0.414906302442132,"fixed_shape":[192,256],"matrix":[[0.999917060136795,-7.508084695473372e-05,2.024099071055275],[7.508084695473372e-05,0.999917060136795,-1.0032548557320524]],"message":"aligned: shift (2.0, -1.0) px, rotation -0.0 deg (correlation 0.41 -> 0.99, 99 % overlap)","method":"phase+ecc","moving_shape":[192,256],"ok":true,"overlap":0.9870198369026184,"rotation_deg":-0.0043021724662850955,"scale":0.9999170629555956,"shift_px":[2.006354017612466,-1.0016028046813972]},"baseline":{"calibration":null,"date":"2026-01-05","metrics":{"color.L":{"note":"","uncertainty":0.20131370019088257,"unit":"L*","value":67.21166769911845},"color.a":{"note":"","uncertainty":0.3143133776161066,"unit":"a*","value":14.181627602005998},"color.b":{"note":"","uncertainty":0.12723370230031322,"unit":"b*","value":19.818534047032397},"color.erythema_index":{"note":"","uncertainty":0.4073669684985367,"unit":"","value":25.673890724227928},"color.ita_deg":{"note":"","uncertainty":0.48030605410540983,"unit":"°","value":40.97311329152364},"color.melanin_index":{"note":"","uncertainty":0.26370384713522976,"unit":"","value":23.45425341437237},"color.unevenness":{"note":"","uncertainty":0.1687967343641789,"unit":"ΔE00","value":2.220482034533933},"pore.area_fraction":{"note":"","uncertainty":0.0021129989615089064,"unit":"","value":0.01202392578125},"pore.density":{"note":"","uncertainty":1.2313806338561974,"unit":"1/10⁴px²","value":8.544921875},"pore.mean_diameter":{"note":"","uncertainty":0.19324900100194817,"unit":"px","value":4.06410343369245},"quality.clipped_fraction":{"note":"","uncertainty":0.0,"unit":"","value":0.0},"quality.sharpness":{"note":"","uncertainty":0.22608018607780062,"unit":"L*²/px²","value":10.246075886322801},"quality.specular_fraction":{"note":"","uncertainty":0.0,"unit":"","value":0.0},"scar.border_sharpness":{"note":"","uncertainty":0.010213810328608299,"unit":"L*/px","value":0.16974779711032176},"scar.delta_L":{"note":"","uncertainty":0.14450348443414981,"unit":"L*","value":-2.992656844706758},"scar.delta_a":{"note":"","uncertainty":0.34568873023303953,"unit":"a*","value":9.465848967685442},"scar.delta_b":{"note":"","uncertainty":0.12221934225733698,"unit":"b*","value":2.684363203055657},"scar.delta_e00":{"note":"","uncertainty":0.20053971557093708,"unit":"ΔE00","value":6.369954980742745},"scar.delta_erythema":{"note":"","uncertainty":0.4532307576842508,"unit":"","value":12.803618604600846},"scar.delta_melanin":{"note":"","uncertainty":0.25214301535102146,"unit":"","value":-3.36494276258788},"scar.texture_ratio":{"note":"","uncertainty":0.0233439373628004,"unit":"","value":0.487031031293847},"scar.visibility_excess":{"note":"","uncertainty":0.21901257482543843,"unit":"ΔE00","value":3.5730395706268108},"scar.visible_area":{"note":"","uncertainty":716.2785280508306,"unit":"px²","value":3631.0000522993505},"scar.visible_fraction":{"note":"","uncertainty":0.0,"unit":"","value":1.0},"texture.anisotropy":{"note":"","uncertainty":0.005933167586273679,"unit":"","value":0.04278810722974905},"texture.band_coarse":{"note":"","uncertainty":0.06147265944295052,"unit":"L*","value":0.8130653608658461},"texture.band_fine":{"note":"","uncertainty":0.026501713881098593,"unit":"L*","value":1.1754966308419599},"texture.band_medium":{"note":"","uncertainty":0.05374107984788834,"unit":"L*","value":0.8855808288229459},"texture.glcm_contrast":{"note":"","uncertainty":0.24912852935902174,"unit":"","value":8.19197533812077},"texture.glcm_correlation":{"note":"","uncertainty":0.028389300978348676,"unit":"","value":0.4332850650408649},"texture.glcm_energy":{"note":"","uncertainty":0.00034618082938183705,"unit":"","value":0.01362359725542909},"texture.glcm_entropy":{"note":"","uncertainty":0.052079111638873674,"unit":"bit","value":6.685965932317144},"texture.glcm_homogeneity":{"note":"","uncertainty":0.00549694807411624,"unit":"","value":0.34991631458426836},"texture.lbp_entropy":{"note":"","uncertainty":0.008181693342782041,"unit":"bit","value":2.853475386465329},"texture.sa":{"note":"","uncertainty":0.045120104966110956,"unit":"L*","value":2.07188481092453},"texture.sq":{"note":"","uncertainty":0.08258043394291303,"unit":"L*","value":2.677451407137641},"wrinkle.density":{"note":"","uncertainty":0.010217361483141342,"unit":"","value":0.0438232421875},"wrinkle.depth":{"note":"","uncertainty":0.05599761491249341,"unit":"L*","value":0.22203321677322188},"wrinkle.length_density":{"note":"","uncertainty":0.0014378504360524902,"unit":"px/px²","value":0.006673176900449107}},"photo":{"bit_depth":32,"format":null,"height":192,"sha256":"03fcb2a969b7e791c4ccf97a600c2e1b29a2e7a4e8856fdf897e0e2d22bfe412","width":256},"regions":{"lesion":{"area_px":3631,"mask_sha256":"06fd5eabd6eec14ad7a195a99b4ec6812f065422f8bd8fb3d32560ad10f29eb4"},"reference":{"area_px":10424,"default":"ring"},"roi":{"area_px":49152,"mask_sha256":"e7b1c6f4ccef568c19723f174b7f97f24c508327d22262dbaf7f0afc23205f9a"}},"session":"week0"},"calibration":null,"changes":{"change.lbp_chi2":{"better":"none","delta":0.00013970288629535423,"detectable":false,"note":"pair metric: ''after'' is its value for this pair","percent":null,"rule":"value vs its upper quantile over nuisance-only calibration retakes = 0.09693","rule_kind":"pair_quantile","threshold":0.09692578921602596,"uncertainty":null,"unit":"","verdict":"no detectable change"},"color.L":{"better":"none","delta":0.3060688674955401,"detectable":false,"note":"","percent":0.45538055812823475,"rule":"no colour reference: the colour was matched on this skin; show a colour chart, mark untreated skin as colour reference or state fixed light","rule_kind":"not_comparable","threshold":null,"uncertainty":null,"unit":"L*","verdict":"not comparable"},"color.a":{"better":"none","delta":-0.3582842656349001,"detectable":false,"note":"","percent":-2.5263973620645674,"rule":"no colour reference: the colour was matched on this skin; show a colour chart, mark untreated skin as colour reference or state fixed light","rule_kind":"not_comparable","threshold":null,"uncertainty":null,"unit":"a*","verdict":"not comparable"},"color.b":{"better":"none","delta":-0.13704505649352328,"detectable":false,"note":"","percent":-0.6914994629183697,"rule":"no colour reference: the colour was matched on this skin; show a colour chart, mark untreated skin as colour reference or state fixed light","rule_kind":"not_comparable","threshold":null,"uncertainty":null,"unit":"b*","verdict":"not comparable"},"color.erythema_index":{"better":"lower","delta":-0.4826922173684345,"detectable":false,"note":"","percent":-1.8800898646535396,"rule":"no colour reference: the colour was matched on this skin; show a colour chart, mark untreated skin as colour reference or state fixed light","rule_kind":"not_comparable","threshold":null,"uncertainty":null,"unit":"","verdict":"not comparable"},"color.ita_deg":{"better":"none","delta":0.6979370521044572,"detectable":false,"note":"","percent":1.7034025389738783,"rule":"no colour reference: the colour was matched on this skin; show a colour chart, mark untreated skin as colour reference or state fixed light","rule_kind":"not_comparable","threshold":null,"uncertainty":null,"unit":"°","verdict":"not comparable"},"color.melanin_index":{"better":"none","delta":-0.05410257912186722,"detectable":false,"note":"","percent":-0.2306727831665453,"rule":"no colour reference: the colour was matched on this skin; show a colour chart, mark untreated skin as colour reference or state fixed light","rule_kind":"not_comparable","threshold":null,"uncertainty":null,"unit":"","verdict":"not comparable"},"color.unevenness":{"better":"lower","delta":-0.45652235166282096,"detectable":true,"note":"","percent":-20.5596057325743,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.218 (SE 0.108, capture SD 0.0189, 73 df)","rule_kind":"standard_error","threshold":0.21797553258825994,"uncertainty":0.10937639508544245,"unit":"ΔE00","verdict":"improved"},"pore.area_fraction":{"better":"lower","delta":-0.009900659737600521,"detectable":true,"note":"","percent":-82.34132443697814,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.003769 (SE 0.00189, capture SD 5.86e-05, 69 df)","rule_kind":"standard_error","threshold":0.0037691402976293494,"uncertainty":0.0018893742351806003,"unit":"","verdict":"improved"},"pore.density":{"better":"lower","delta":-7.102039408083233,"detectable":true,"note":"","percent":-83.11415261573978,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 2.584 (SE 1.29, capture SD 0.135, 71 df)","rule_kind":"standard_error","threshold":2.5840216003021714,"uncertainty":1.2957585383015529,"unit":"1/10⁴px²","verdict":"improved"},"pore.mean_diameter":{"better":"lower","delta":0.22730835558307128,"detectable":false,"note":"","percent":5.5930750605072515,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.5069 (SE 0.254, capture SD 0.00338, 69 df)","rule_kind":"standard_error","threshold":0.5069111377572049,"uncertainty":0.2540945491321527,"unit":"px","verdict":"no detectable change"},"quality.clipped_fraction":{"better":"none","delta":0.0,"detectable":false,"note":"percent undefined: the baseline value is 0","percent":null,"rule":"|Δ| vs clipped_max setting = 0.01","rule_kind":"quality_setting","threshold":0.01,"uncertainty":0.0,"unit":"","verdict":"no detectable change"},"quality.exposure_shift":{"better":"none","delta":0.40003204345703125,"detectable":false,"note":"pair metric: ''after'' is its value for this pair","percent":null,"rule":"|Δ| vs exposure_shift_max setting = 2","rule_kind":"quality_setting","threshold":2.0,"uncertainty":null,"unit":"L*","verdict":"no detectable change"},"quality.sharpness":{"better":"none","delta":-6.558887062084733,"detectable":true,"note":"","percent":-64.01364907749715,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 5.093 (SE 0.189, capture SD 2.59)","rule_kind":"capture_model","threshold":5.0930942047319245,"uncertainty":2.5985161710730553,"unit":"L*²/px²","verdict":"changed"},"quality.specular_fraction":{"better":"none","delta":0.0,"detectable":false,"note":"percent undefined: the baseline value is 0","percent":null,"rule":"|Δ| vs specular_max setting = 0.005","rule_kind":"quality_setting","threshold":0.005,"uncertainty":0.0,"unit":"","verdict":"no detectable change"},"scar.border_sharpness":{"better":"lower","delta":-0.08117083006556204,"detectable":true,"note":"","percent":-47.8184880436521,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.008977 (SE 0.00441, capture SD 0.000977, 90 df)","rule_kind":"standard_error","threshold":0.008976501594512116,"uncertainty":0.0045184309093105725,"unit":"L*/px","verdict":"improved"},"scar.delta_L":{"better":"toward 0","delta":1.5845941906049887,"detectable":true,"note":"","percent":52.9494116041981,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.1562 (SE 0.0785, capture SD 0, 82 df)","rule_kind":"standard_error","threshold":0.15620440214520426,"uncertainty":0.07852008577971543,"unit":"L*","verdict":"improved"},"scar.delta_a":{"better":"toward 0","delta":-4.781445462743315,"detectable":true,"note":"","percent":-50.51258982756048,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.3376 (SE 0.17, capture SD 0, 82 df)","rule_kind":"standard_error","threshold":0.3376463804038336,"uncertainty":0.16972647626072943,"unit":"a*","verdict":"improved"},"scar.delta_b":{"better":"toward 0","delta":-1.4237189510078494,"detectable":true,"note":"","percent":-53.037493189714624,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.1061 (SE 0.0533, capture SD 0, 82 df)","rule_kind":"standard_error","threshold":0.10611513606997564,"uncertainty":0.05334145179209006,"unit":"b*","verdict":"improved"},"scar.delta_e00":{"better":"lower","delta":-2.987614360333012,"detectable":true,"note":"","percent":-46.901655810205625,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.177 (SE 0.089, capture SD 0, 82 df)","rule_kind":"standard_error","threshold":0.17703060906171034,"uncertainty":0.08898890439873261,"unit":"ΔE00","verdict":"improved"},"scar.delta_erythema":{"better":"toward 0","delta":-6.568582878716338,"detectable":true,"note":"","percent":-51.30255033023232,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.4792 (SE 0.241, capture SD 0, 82 df)","rule_kind":"standard_error","threshold":0.4792306111874495,"uncertainty":0.24089736385101787,"unit":"","verdict":"improved"},"scar.delta_melanin":{"better":"toward 0","delta":1.4985244705914684,"detectable":true,"note":"","percent":44.533431214710966,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.1648 (SE 0.0828, capture SD 0, 82 df)","rule_kind":"standard_error","threshold":0.16475743162654688,"uncertainty":0.08281948195119572,"unit":"","verdict":"improved"},"scar.texture_ratio":{"better":"toward 1","delta":0.24262578756634018,"detectable":true,"note":"","percent":49.81731593606681,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 0.04649 (SE 0.0139, capture SD 0.0192, 699 df)","rule_kind":"capture_model","threshold":0.046493834987010194,"uncertainty":0.023680256332197332,"unit":"","verdict":"improved"},"scar.visibility_excess":{"better":"lower","delta":-2.6899973920681663,"detectable":true,"note":"","percent":-75.2859670008151,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.2359 (SE 0.117, capture SD 0.0207, 87 df)","rule_kind":"standard_error","threshold":0.2358757633694096,"uncertainty":0.11867495979103737,"unit":"ΔE00","verdict":"improved"},"scar.visible_area":{"better":"lower","delta":-553.489548208307,"detectable":true,"note":"","percent":-15.243446439991285,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 302.2 (SE 152, capture SD 2, 82 df)","rule_kind":"standard_error","threshold":302.2044125287828,"uncertainty":151.9114613523702,"unit":"px²","verdict":"improved"},"scar.visible_fraction":{"better":"lower","delta":-0.15257504773081154,"detectable":true,"note":"","percent":-15.257504773081154,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.08651 (SE 0.0435, capture SD 0, 82 df)","rule_kind":"standard_error","threshold":0.08650925406612153,"uncertainty":0.04348606029487375,"unit":"","verdict":"improved"},"texture.anisotropy":{"better":"none","delta":-0.0023705808359114344,"detectable":false,"note":"","percent":-5.5402797398414805,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 0.04333 (SE 0.00102, capture SD 0.0221)","rule_kind":"capture_model","threshold":0.04332885382945796,"uncertainty":0.022106556320498575,"unit":"","verdict":"no detectable change"},"texture.band_coarse":{"better":"lower","delta":-0.29669212603772266,"detectable":true,"note":"","percent":-36.49056279088935,"rule":"|Δ| vs 1.97·√(SE² + capture SD²) = 0.09584 (SE 0.0388, capture SD 0.0292, 169 df)","rule_kind":"standard_error","threshold":0.09583851367481744,"uncertainty":0.04854684668698162,"unit":"L*","verdict":"improved"},"texture.band_fine":{"better":"lower","delta":-0.5838859176922699,"detectable":true,"note":"","percent":-49.671424177035405,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.03204 (SE 0.0152, capture SD 0.00535, 87 df)","rule_kind":"standard_error","threshold":0.032038054554698235,"uncertainty":0.016118937129393055,"unit":"L*","verdict":"improved"},"texture.band_medium":{"better":"lower","delta":-0.4395476150404189,"detectable":true,"note":"","percent":-49.63382231576036,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.05413 (SE 0.0271, capture SD 0, 69 df)","rule_kind":"standard_error","threshold":0.05413463519281314,"uncertainty":0.027135385223900937,"unit":"L*","verdict":"improved"},"texture.glcm_contrast":{"better":"lower","delta":-5.886912473734377,"detectable":true,"note":"","percent":-71.86194087206357,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 0.709 (SE 0.199, capture SD 0.301, 745 df)","rule_kind":"capture_model","threshold":0.7089907597318218,"uncertainty":0.36114228168685714,"unit":"","verdict":"improved"},"texture.glcm_correlation":{"better":"none","delta":0.004449303414432504,"detectable":false,"note":"","percent":1.0268767085274153,"rule":"|Δ| vs 1.97·√(SE² + capture SD²) = 0.02261 (SE 0.00759, capture SD 0.00864, 363 df)","rule_kind":"capture_model","threshold":0.022614724493348556,"uncertainty":0.011499667843610594,"unit":"","verdict":"no detectable change"},"texture.glcm_energy":{"better":"higher","delta":0.03409933595437558,"detectable":true,"note":"","percent":250.29612454806514,"rule":"|Δ| vs 1.97·√(SE² + capture SD²) = 0.00287 (SE 0.000967, capture SD 0.00109, 359 df)","rule_kind":"capture_model","threshold":0.0028702146236789287,"uncertainty":0.0014594528031093663,"unit":"","verdict":"improved"},"texture.glcm_entropy":{"better":"lower","delta":-1.7998166696557378,"detectable":true,"note":"","percent":-26.91932157410767,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 0.1902 (SE 0.0122, capture SD 0.0963)","rule_kind":"capture_model","threshold":0.19023878055055954,"uncertainty":0.09706018237849759,"unit":"bit","verdict":"improved"},"texture.glcm_homogeneity":{"better":"higher","delta":0.18123424547449324,"detectable":true,"note":"","percent":51.7935969032526,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 0.03362 (SE 0.00276, capture SD 0.0169)","rule_kind":"capture_model","threshold":0.03361859808810564,"uncertainty":0.017152143096833626,"unit":"","verdict":"improved"},"texture.lbp_entropy":{"better":"none","delta":0.007148852915193071,"detectable":false,"note":"","percent":0.2505314378775327,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 0.06143 (SE 0.00275, capture SD 0.0312)","rule_kind":"capture_model","threshold":0.061430748431474114,"uncertainty":0.03134218613882839,"unit":"bit","verdict":"no detectable change"},"texture.sa":{"better":"lower","delta":-0.9889483449164898,"detectable":true,"note":"","percent":-47.73182078955416,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 0.07487 (SE 0.0211, capture SD 0.0318, 738 df)","rule_kind":"capture_model","threshold":0.07487110594143497,"uncertainty":0.038136914240830315,"unit":"L*","verdict":"improved"},"texture.sq":{"better":"lower","delta":-1.27170760907213,"detectable":true,"note":"","percent":-47.49694450782444,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 0.134 (SE 0.0379, capture SD 0.0567, 725 df)","rule_kind":"capture_model","threshold":0.1339535389921511,"uncertainty":0.06822953254997609,"unit":"L*","verdict":"improved"},"wrinkle.density":{"better":"lower","delta":-0.03568126255275539,"detectable":true,"note":"","percent":-81.42086429865519,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.01574 (SE 0.00789, capture SD 0, 69 df)","rule_kind":"standard_error","threshold":0.01573644564601808,"uncertainty":0.00788800946268073,"unit":"","verdict":"improved"},"wrinkle.depth":{"better":"lower","delta":-0.18549824928507977,"detectable":true,"note":"","percent":-83.54526947854932,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.08708 (SE 0.0437, capture SD 0.000235, 69 df)","rule_kind":"standard_error","threshold":0.0870825298797138,"uncertainty":0.043650805608667895,"unit":"L*","verdict":"improved"},"wrinkle.length_density":{"better":"lower","delta":-0.004447200065527899,"detectable":true,"note":"","percent":-66.64292183275707,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.002388 (SE 0.0012, capture SD 4.76e-05, 69 df)","rule_kind":"standard_error","threshold":0.0023878092973061748,"uncertainty":0.0011969745255137317,"unit":"px/px²","verdict":"improved"}},"colour_truth":"none","date":"2026-02-02T09:30:00+01:00","kind":"comparison","metrics":{"color.L":{"note":"","uncertainty":0.1716964923525386,"unit":"L*","value":67.51773656661399},"color.a":{"note":"","uncertainty":0.20408354573577892,"unit":"a*","value":13.823343336371098},"color.b":{"note":"","uncertainty":0.1106603337617359,"unit":"b*","value":19.681488990538874},"color.erythema_index":{"note":"","uncertainty":0.26729432136137743,"unit":"","value":25.191198506859493},"color.ita_deg":{"note":"","uncertainty":0.4100019151847331,"unit":"°","value":41.671050343628096},"color.melanin_index":{"note":"","uncertainty":0.21133208799308675,"unit":"","value":23.400150835250503},"color.unevenness":{"note":"","uncertainty":0.09296261348533946,"unit":"ΔE00","value":1.7639596828711122},"pore.area_fraction":{"note":"","uncertainty":0.0007915292894431211,"unit":"","value":0.0021232660436494785},"pore.density":{"note":"","uncertainty":0.5174635675449509,"unit":"1/10⁴px²","value":1.4428824669167664},"pore.mean_diameter":{"note":"","uncertainty":0.24754752784423273,"unit":"px","value":4.2914117892755215},"quality.clipped_fraction":{"note":"","uncertainty":0.0,"unit":"","value":0.0},"quality.sharpness":{"note":"","uncertainty":0.0416535381216126,"unit":"L*²/px²","value":3.687188824238068},"quality.specular_fraction":{"note":"","uncertainty":0.0,"unit":"","value":0.0},"scar.border_sharpness":{"note":"","uncertainty":0.006268733308560344,"unit":"L*/px","value":0.08857696704475972},"scar.delta_L":{"note":"","uncertainty":0.10166295050634158,"unit":"L*","value":-1.4080626541017693},"scar.delta_a":{"note":"","uncertainty":0.19915454078252295,"unit":"a*","value":4.684403504942127},"scar.delta_b":{"note":"","uncertainty":0.09042076405851658,"unit":"b*","value":1.2606442520478076},"scar.delta_e00":{"note":"","uncertainty":0.13854423748268954,"unit":"ΔE00","value":3.3823406204097326},"scar.delta_erythema":{"note":"","uncertainty":0.24006690495201907,"unit":"","value":6.235035725884508},"scar.delta_melanin":{"note":"","uncertainty":0.18619130576700677,"unit":"","value":-1.8664182919964116},"scar.texture_ratio":{"note":"","uncertainty":0.034870291599929715,"unit":"","value":0.7296568188601872},"scar.visibility_excess":{"note":"","uncertainty":0.10866747052321106,"unit":"ΔE00","value":0.8830421785586446},"scar.visible_area":{"note":"","uncertainty":675.2248153255583,"unit":"px²","value":3077.5105040910435},"scar.visible_fraction":{"note":"","uncertainty":0.04348606029487375,"unit":"","value":0.8474249522691885},"texture.anisotropy":{"note":"","uncertainty":0.005694479092084453,"unit":"","value":0.04041752639383762},"texture.band_coarse":{"note":"","uncertainty":0.03882273404836655,"unit":"L*","value":0.5163732348281235},"texture.band_fine":{"note":"","uncertainty":0.011712485504057929,"unit":"L*","value":0.5916107131496899},"texture.band_medium":{"note":"","uncertainty":0.027188285683271703,"unit":"L*","value":0.44603321378252697},"texture.glcm_contrast":{"note":"","uncertainty":0.052104664245720626,"unit":"","value":2.305062864386393},"texture.glcm_correlation":{"note":"","uncertainty":0.029255964538256084,"unit":"","value":0.4377343684552974},"texture.glcm_energy":{"note":"","uncertainty":0.0012827123601676785,"unit":"","value":0.04772293320980467},"texture.glcm_entropy":{"note":"","uncertainty":0.05363891757807665,"unit":"bit","value":4.886149262661406},"texture.glcm_homogeneity":{"note":"","uncertainty":0.003462097098536904,"unit":"","value":0.5311505600587616},"texture.lbp_entropy":{"note":"","uncertainty":0.008303324035197847,"unit":"bit","value":2.860624239380522},"texture.sa":{"note":"","uncertainty":0.02580295706274825,"unit":"L*","value":1.0829364660080403},"texture.sq":{"note":"","uncertainty":0.046347844276246726,"unit":"L*","value":1.405743798065511},"wrinkle.density":{"note":"","uncertainty":0.003445641812602442,"unit":"","value":0.00814197963474461},"wrinkle.depth":{"note":"","uncertainty":0.015800215383093265,"unit":"L*","value":0.03653496748814211},"wrinkle.length_density":{"note":"","uncertainty":0.000905619605972736,"unit":"px/px²","value":0.0022259768349212083}},"photo":{"bit_depth":32,"format":null,"height":192,"sha256":"701213d1460eaff17a0099ea9a234b08717ffc422f9891bf26e6d962108b9141","width":256},"photometric":{"exposure_ratio":1.0143063917586053,"exposure_shift_L":0.40003204345703125,"gains":[0.9875465924100049,0.985188440036673,0.9836738713711851],"region":"reference skin"},"pixel_size_mm":null,"quality_flags":[],"regions":{"lesion":{"area_px":3631,"carried_from_baseline":true,"mask_sha256":"06fd5eabd6eec14ad7a195a99b4ec6812f065422f8bd8fb3d32560ad10f29eb4"},"reference":{"area_px":10424,"carried_from_baseline":true,"default":"ring"},"roi":{"area_px":48514,"carried_from_baseline":true,"mask_sha256":"e7b1c6f4ccef568c19723f174b7f97f24c508327d22262dbaf7f0afc23205f9a"}},"schema_version":1,"session":"week4","settings":{"align_max_side":768,"anisotropy_sigma_mm":0.5,"band_coarse_mm":[0.5,2.0],"band_fine_mm":[0.05,0.15],"band_medium_mm":[0.15,0.5],"blur_ratio":0.7,"border_width_mm":0.5,"capture_multiplier":1.0,"capture_prior_df":8.0,"chart_method":"cheung2004","chart_reference":"ColorChecker24 - After November 2014","clipped_max":0.01,"detail_sigma_mm":2.0,"exposure_shift_max":2.0,"fixed_light":false,"glcm_bin_width":1.0,"glcm_distance_mm":0.1,"glcm_levels":32,"jnd_delta_e00":2.3,"lbp_radius_mm":0.05,"map_max_side":768,"min_correlation":0.3,"min_overlap":0.5,"min_sharpness":0.5,"min_tile_mm":1.0,"nominal_pixel_size_mm":0.05,"pore_diameter_mm":[0.15,0.6],"pore_threshold":2.5,"reference_ring":[1.0,2.0],"specular_max":0.005,"target_tiles":64,"unevenness_sigma_mm":0.5,"visibility_sigma_mm":0.25,"wrinkle_elongation":3.0,"wrinkle_min_length_mm":1.0,"wrinkle_sigmas_mm":[0.1,0.2,0.4],"wrinkle_threshold":1.2,"z":1.96},"settings_sha256":"095510ea2621e08995e77261bf7c63c587e44e0b48ea9168f7a2792ff6b6225b","subject":"P-0001","test_retest_mdc95":null,"texturecmp_version":"0.1.0","warnings":[]}');
INSERT INTO public.records VALUES (3, 'd562aef698a25d1ecc770c3a5d50048d64b67329144d3b00d62c22e084fd4adf', 'comparison', 2, 4, 3, '2026-02-02T09:30:00+01:00', '2026-02-02T08:30:00', '701213d1460eaff17a0099ea9a234b08717ffc422f9891bf26e6d962108b9141', '0.1.0', 1, '2026-12-04T23:03:34.460907Z', '{"alignment":{"correlation_after":0.9892794938549763,"correlation_before":0.414906302442132,"fixed_shape":[192,256],"matrix":[[0.999917060136795,-7.508084695473372e-05,2.024099071055275],[7.508084695473372e-05,0.999917060136795,-1.0032548557320524]],"message":"aligned: shift (2.0, -1.0) px, rotation -0.0 deg (correlation 0.41 -> 0.99, 99 % overlap)","method":"phase+ecc","moving_shape":[192,256],"ok":true,"overlap":0.9870198369026184,"rotation_deg":-0.0043021724662850955,"scale":0.9999170629555956,"shift_px":[2.006354017612466,-1.0016028046813972]},"baseline":{"calibration":null,"date":"2026-01-05","metrics":{"color.L":{"note":"","uncertainty":0.20131370019088257,"unit":"L*","value":67.21166769911845},"color.a":{"note":"","uncertainty":0.3143133776161066,"unit":"a*","value":14.181627602005998},"color.b":{"note":"","uncertainty":0.12723370230031322,"unit":"b*","value":19.818534047032397},"color.erythema_index":{"note":"","uncertainty":0.4073669684985367,"unit":"","value":25.673890724227928},"color.ita_deg":{"note":"","uncertainty":0.48030605410540983,"unit":"°","value":40.97311329152364},"color.melanin_index":{"note":"","uncertainty":0.26370384713522976,"unit":"","value":23.45425341437237},"color.unevenness":{"note":"","uncertainty":0.1687967343641789,"unit":"ΔE00","value":2.220482034533933},"pore.area_fraction":{"note":"","uncertainty":0.0021129989615089064,"unit":"","value":0.01202392578125},"pore.density":{"note":"","uncertainty":1.2313806338561974,"unit":"1/10⁴px²","value":8.544921875},"pore.mean_diameter":{"note":"","uncertainty":0.19324900100194817,"unit":"px","value":4.06410343369245},"quality.clipped_fraction":{"note":"","uncertainty":0.0,"unit":"","value":0.0},"quality.sharpness":{"note":"","uncertainty":0.22608018607780062,"unit":"L*²/px²","value":10.246075886322801},"quality.specular_fraction":{"note":"","uncertainty":0.0,"unit":"","value":0.0},"scar.border_sharpness":{"note":"","uncertainty":0.010213810328608299,"unit":"L*/px","value":0.16974779711032176},"scar.delta_L":{"note":"","uncertainty":0.14450348443414981,"unit":"L*","value":-2.992656844706758},"scar.delta_a":{"note":"","uncertainty":0.34568873023303953,"unit":"a*","value":9.465848967685442},"scar.delta_b":{"note":"","uncertainty":0.12221934225733698,"unit":"b*","value":2.684363203055657},"scar.delta_e00":{"note":"","uncertainty":0.20053971557093708,"unit":"ΔE00","value":6.369954980742745},"scar.delta_erythema":{"note":"","uncertainty":0.4532307576842508,"unit":"","value":12.803618604600846},"scar.delta_melanin":{"note":"","uncertainty":0.25214301535102146,"unit":"","value":-3.36494276258788},"scar.texture_ratio":{"note":"","uncertainty":0.0233439373628004,"unit":"","value":0.487031031293847},"scar.visibility_excess":{"note":"","uncertainty":0.21901257482543843,"unit":"ΔE00","value":3.5730395706268108},"scar.visible_area":{"note":"","uncertainty":716.2785280508306,"unit":"px²","value":3631.0000522993505},"scar.visible_fraction":{"note":"","uncertainty":0.0,"unit":"","value":1.0},"texture.anisotropy":{"note":"","uncertainty":0.005933167586273679,"unit":"","value":0.04278810722974905},"texture.band_coarse":{"note":"","uncertainty":0.06147265944295052,"unit":"L*","value":0.8130653608658461},"texture.band_fine":{"note":"","uncertainty":0.026501713881098593,"unit":"L*","value":1.1754966308419599},"texture.band_medium":{"note":"","uncertainty":0.05374107984788834,"unit":"L*","value":0.8855808288229459},"texture.glcm_contrast":{"note":"","uncertainty":0.24912852935902174,"unit":"","value":8.19197533812077},"texture.glcm_correlation":{"note":"","uncertainty":0.028389300978348676,"unit":"","value":0.4332850650408649},"texture.glcm_energy":{"note":"","uncertainty":0.00034618082938183705,"unit":"","value":0.01362359725542909},"texture.glcm_entropy":{"note":"","uncertainty":0.052079111638873674,"unit":"bit","value":6.685965932317144},"texture.glcm_homogeneity":{"note":"","uncertainty":0.00549694807411624,"unit":"","value":0.34991631458426836},"texture.lbp_entropy":{"note":"","uncertainty":0.008181693342782041,"unit":"bit","value":2.853475386465329},"texture.sa":{"note":"","uncertainty":0.045120104966110956,"unit":"L*","value":2.07188481092453},"texture.sq":{"note":"","uncertainty":0.08258043394291303,"unit":"L*","value":2.677451407137641},"wrinkle.density":{"note":"","uncertainty":0.010217361483141342,"unit":"","value":0.0438232421875},"wrinkle.depth":{"note":"","uncertainty":0.05599761491249341,"unit":"L*","value":0.22203321677322188},"wrinkle.length_density":{"note":"","uncertainty":0.0014378504360524902,"unit":"px/px²","value":0.006673176900449107}},"photo":{"bit_depth":32,"format":null,"height":192,"sha256":"03fcb2a969b7e791c4ccf97a600c2e1b29a2e7a4e8856fdf897e0e2d22bfe412","width":256},"regions":{"lesion":{"area_px":3631,"mask_sha256":"06fd5eabd6eec14ad7a195a99b4ec6812f065422f8bd8fb3d32560ad10f29eb4"},"reference":{"area_px":10424,"default":"ring"},"roi":{"area_px":49152,"mask_sha256":"e7b1c6f4ccef568c19723f174b7f97f24c508327d22262dbaf7f0afc23205f9a"}},"session":"référence"},"calibration":null,"changes":{"change.lbp_chi2":{"better":"none","delta":0.00013970288629535423,"detectable":false,"note":"pair metric: ''after'' is its value for this pair","percent":null,"rule":"value vs its upper quantile over nuisance-only calibration retakes = 0.09693","rule_kind":"pair_quantile","threshold":0.09692578921602596,"uncertainty":null,"unit":"","verdict":"no detectable change"},"color.L":{"better":"none","delta":0.3060688674955401,"detectable":false,"note":"","percent":0.45538055812823475,"rule":"no colour reference: the colour was matched on this skin; show a colour chart, mark untreated skin as colour reference or state fixed light","rule_kind":"not_comparable","threshold":null,"uncertainty":null,"unit":"L*","verdict":"not comparable"},"color.a":{"better":"none","delta":-0.3582842656349001,"detectable":false,"note":"","percent":-2.5263973620645674,"rule":"no colour reference: the colour was matched on this skin; show a colour chart, mark untreated skin as colour reference or state fixed light","rule_kind":"not_comparable","threshold":null,"uncertainty":null,"unit":"a*","verdict":"not comparable"},"color.b":{"better":"none","delta":-0.13704505649352328,"detectable":false,"note":"","percent":-0.6914994629183697,"rule":"no colour reference: the colour was matched on this skin; show a colour chart, mark untreated skin as colour reference or state fixed light","rule_kind":"not_comparable","threshold":null,"uncertainty":null,"unit":"b*","verdict":"not comparable"},"color.erythema_index":{"better":"lower","delta":-0.4826922173684345,"detectable":false,"note":"","percent":-1.8800898646535396,"rule":"no colour reference: the colour was matched on this skin; show a colour chart, mark untreated skin as colour reference or state fixed light","rule_kind":"not_comparable","threshold":null,"uncertainty":null,"unit":"","verdict":"not comparable"},"color.ita_deg":{"better":"none","delta":0.6979370521044572,"detectable":false,"note":"","percent":1.7034025389738783,"rule":"no colour reference: the colour was matched on this skin; show a colour chart, mark untreated skin as colour reference or state fixed light","rule_kind":"not_comparable","threshold":null,"uncertainty":null,"unit":"°","verdict":"not comparable"},"color.melanin_index":{"better":"none","delta":-0.05410257912186722,"detectable":false,"note":"","percent":-0.2306727831665453,"rule":"no colour reference: the colour was matched on this skin; show a colour chart, mark untreated skin as colour reference or state fixed light","rule_kind":"not_comparable","threshold":null,"uncertainty":null,"unit":"","verdict":"not comparable"},"color.unevenness":{"better":"lower","delta":-0.45652235166282096,"detectable":true,"note":"","percent":-20.5596057325743,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.218 (SE 0.108, capture SD 0.0189, 73 df)","rule_kind":"standard_error","threshold":0.21797553258825994,"uncertainty":0.10937639508544245,"unit":"ΔE00","verdict":"improved"},"pore.area_fraction":{"better":"lower","delta":-0.009900659737600521,"detectable":true,"note":"","percent":-82.34132443697814,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.003769 (SE 0.00189, capture SD 5.86e-05, 69 df)","rule_kind":"standard_error","threshold":0.0037691402976293494,"uncertainty":0.0018893742351806003,"unit":"","verdict":"improved"},"pore.density":{"better":"lower","delta":-7.102039408083233,"detectable":true,"note":"","percent":-83.11415261573978,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 2.584 (SE 1.29, capture SD 0.135, 71 df)","rule_kind":"standard_error","threshold":2.5840216003021714,"uncertainty":1.2957585383015529,"unit":"1/10⁴px²","verdict":"improved"},"pore.mean_diameter":{"better":"lower","delta":0.22730835558307128,"detectable":false,"note":"","percent":5.5930750605072515,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.5069 (SE 0.254, capture SD 0.00338, 69 df)","rule_kind":"standard_error","threshold":0.5069111377572049,"uncertainty":0.2540945491321527,"unit":"px","verdict":"no detectable change"},"quality.clipped_fraction":{"better":"none","delta":0.0,"detectable":false,"note":"percent undefined: the baseline value is 0","percent":null,"rule":"|Δ| vs clipped_max setting = 0.01","rule_kind":"quality_setting","threshold":0.01,"uncertainty":0.0,"unit":"","verdict":"no detectable change"},"quality.exposure_shift":{"better":"none","delta":0.40003204345703125,"detectable":false,"note":"pair metric: ''after'' is its value for this pair","percent":null,"rule":"|Δ| vs exposure_shift_max setting = 2","rule_kind":"quality_setting","threshold":2.0,"uncertainty":null,"unit":"L*","verdict":"no detectable change"},"quality.sharpness":{"better":"none","delta":-6.558887062084733,"detectable":true,"note":"","percent":-64.01364907749715,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 5.093 (SE 0.189, capture SD 2.59)","rule_kind":"capture_model","threshold":5.0930942047319245,"uncertainty":2.5985161710730553,"unit":"L*²/px²","verdict":"changed"},"quality.specular_fraction":{"better":"none","delta":0.0,"detectable":false,"note":"percent undefined: the baseline value is 0","percent":null,"rule":"|Δ| vs specular_max setting = 0.005","rule_kind":"quality_setting","threshold":0.005,"uncertainty":0.0,"unit":"","verdict":"no detectable change"},"scar.border_sharpness":{"better":"lower","delta":-0.08117083006556204,"detectable":true,"note":"","percent":-47.8184880436521,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.008977 (SE 0.00441, capture SD 0.000977, 90 df)","rule_kind":"standard_error","threshold":0.008976501594512116,"uncertainty":0.0045184309093105725,"unit":"L*/px","verdict":"improved"},"scar.delta_L":{"better":"toward 0","delta":1.5845941906049887,"detectable":true,"note":"","percent":52.9494116041981,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.1562 (SE 0.0785, capture SD 0, 82 df)","rule_kind":"standard_error","threshold":0.15620440214520426,"uncertainty":0.07852008577971543,"unit":"L*","verdict":"improved"},"scar.delta_a":{"better":"toward 0","delta":-4.781445462743315,"detectable":true,"note":"","percent":-50.51258982756048,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.3376 (SE 0.17, capture SD 0, 82 df)","rule_kind":"standard_error","threshold":0.3376463804038336,"uncertainty":0.16972647626072943,"unit":"a*","verdict":"improved"},"scar.delta_b":{"better":"toward 0","delta":-1.4237189510078494,"detectable":true,"note":"","percent":-53.037493189714624,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.1061 (SE 0.0533, capture SD 0, 82 df)","rule_kind":"standard_error","threshold":0.10611513606997564,"uncertainty":0.05334145179209006,"unit":"b*","verdict":"improved"},"scar.delta_e00":{"better":"lower","delta":-2.987614360333012,"detectable":true,"note":"","percent":-46.901655810205625,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.177 (SE 0.089, capture SD 0, 82 df)","rule_kind":"standard_error","threshold":0.17703060906171034,"uncertainty":0.08898890439873261,"unit":"ΔE00","verdict":"improved"},"scar.delta_erythema":{"better":"toward 0","delta":-6.568582878716338,"detectable":true,"note":"","percent":-51.30255033023232,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.4792 (SE 0.241, capture SD 0, 82 df)","rule_kind":"standard_error","threshold":0.4792306111874495,"uncertainty":0.24089736385101787,"unit":"","verdict":"improved"},"scar.delta_melanin":{"better":"toward 0","delta":1.4985244705914684,"detectable":true,"note":"","percent":44.533431214710966,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.1648 (SE 0.0828, capture SD 0, 82 df)","rule_kind":"standard_error","threshold":0.16475743162654688,"uncertainty":0.08281948195119572,"unit":"","verdict":"improved"},"scar.texture_ratio":{"better":"toward 1","delta":0.24262578756634018,"detectable":true,"note":"","percent":49.81731593606681,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 0.04649 (SE 0.0139, capture SD 0.0192, 699 df)","rule_kind":"capture_model","threshold":0.046493834987010194,"uncertainty":0.023680256332197332,"unit":"","verdict":"improved"},"scar.visibility_excess":{"better":"lower","delta":-2.6899973920681663,"detectable":true,"note":"","percent":-75.2859670008151,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.2359 (SE 0.117, capture SD 0.0207, 87 df)","rule_kind":"standard_error","threshold":0.2358757633694096,"uncertainty":0.11867495979103737,"unit":"ΔE00","verdict":"improved"},"scar.visible_area":{"better":"lower","delta":-553.489548208307,"detectable":true,"note":"","percent":-15.243446439991285,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 302.2 (SE 152, capture SD 2, 82 df)","rule_kind":"standard_error","threshold":302.2044125287828,"uncertainty":151.9114613523702,"unit":"px²","verdict":"improved"},"scar.visible_fraction":{"better":"lower","delta":-0.15257504773081154,"detectable":true,"note":"","percent":-15.257504773081154,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.08651 (SE 0.0435, capture SD 0, 82 df)","rule_kind":"standard_error","threshold":0.08650925406612153,"uncertainty":0.04348606029487375,"unit":"","verdict":"improved"},"texture.anisotropy":{"better":"none","delta":-0.0023705808359114344,"detectable":false,"note":"","percent":-5.5402797398414805,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 0.04333 (SE 0.00102, capture SD 0.0221)","rule_kind":"capture_model","threshold":0.04332885382945796,"uncertainty":0.022106556320498575,"unit":"","verdict":"no detectable change"},"texture.band_coarse":{"better":"lower","delta":-0.29669212603772266,"detectable":true,"note":"","percent":-36.49056279088935,"rule":"|Δ| vs 1.97·√(SE² + capture SD²) = 0.09584 (SE 0.0388, capture SD 0.0292, 169 df)","rule_kind":"standard_error","threshold":0.09583851367481744,"uncertainty":0.04854684668698162,"unit":"L*","verdict":"improved"},"texture.band_fine":{"better":"lower","delta":-0.5838859176922699,"detectable":true,"note":"","percent":-49.671424177035405,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.03204 (SE 0.0152, capture SD 0.00535, 87 df)","rule_kind":"standard_error","threshold":0.032038054554698235,"uncertainty":0.016118937129393055,"unit":"L*","verdict":"improved"},"texture.band_medium":{"better":"lower","delta":-0.4395476150404189,"detectable":true,"note":"","percent":-49.63382231576036,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.05413 (SE 0.0271, capture SD 0, 69 df)","rule_kind":"standard_error","threshold":0.05413463519281314,"uncertainty":0.027135385223900937,"unit":"L*","verdict":"improved"},"texture.glcm_contrast":{"better":"lower","delta":-5.886912473734377,"detectable":true,"note":"","percent":-71.86194087206357,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 0.709 (SE 0.199, capture SD 0.301, 745 df)","rule_kind":"capture_model","threshold":0.7089907597318218,"uncertainty":0.36114228168685714,"unit":"","verdict":"improved"},"texture.glcm_correlation":{"better":"none","delta":0.004449303414432504,"detectable":false,"note":"","percent":1.0268767085274153,"rule":"|Δ| vs 1.97·√(SE² + capture SD²) = 0.02261 (SE 0.00759, capture SD 0.00864, 363 df)","rule_kind":"capture_model","threshold":0.022614724493348556,"uncertainty":0.011499667843610594,"unit":"","verdict":"no detectable change"},"texture.glcm_energy":{"better":"higher","delta":0.03409933595437558,"detectable":true,"note":"","percent":250.29612454806514,"rule":"|Δ| vs 1.97·√(SE² + capture SD²) = 0.00287 (SE 0.000967, capture SD 0.00109, 359 df)","rule_kind":"capture_model","threshold":0.0028702146236789287,"uncertainty":0.0014594528031093663,"unit":"","verdict":"improved"},"texture.glcm_entropy":{"better":"lower","delta":-1.7998166696557378,"detectable":true,"note":"","percent":-26.91932157410767,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 0.1902 (SE 0.0122, capture SD 0.0963)","rule_kind":"capture_model","threshold":0.19023878055055954,"uncertainty":0.09706018237849759,"unit":"bit","verdict":"improved"},"texture.glcm_homogeneity":{"better":"higher","delta":0.18123424547449324,"detectable":true,"note":"","percent":51.7935969032526,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 0.03362 (SE 0.00276, capture SD 0.0169)","rule_kind":"capture_model","threshold":0.03361859808810564,"uncertainty":0.017152143096833626,"unit":"","verdict":"improved"},"texture.lbp_entropy":{"better":"none","delta":0.007148852915193071,"detectable":false,"note":"","percent":0.2505314378775327,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 0.06143 (SE 0.00275, capture SD 0.0312)","rule_kind":"capture_model","threshold":0.061430748431474114,"uncertainty":0.03134218613882839,"unit":"bit","verdict":"no detectable change"},"texture.sa":{"better":"lower","delta":-0.9889483449164898,"detectable":true,"note":"","percent":-47.73182078955416,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 0.07487 (SE 0.0211, capture SD 0.0318, 738 df)","rule_kind":"capture_model","threshold":0.07487110594143497,"uncertainty":0.038136914240830315,"unit":"L*","verdict":"improved"},"texture.sq":{"better":"lower","delta":-1.27170760907213,"detectable":true,"note":"","percent":-47.49694450782444,"rule":"|Δ| vs 1.96·√(SE² + capture SD²) = 0.134 (SE 0.0379, capture SD 0.0567, 725 df)","rule_kind":"capture_model","threshold":0.1339535389921511,"uncertainty":0.06822953254997609,"unit":"L*","verdict":"improved"},"wrinkle.density":{"better":"lower","delta":-0.03568126255275539,"detectable":true,"note":"","percent":-81.42086429865519,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.01574 (SE 0.00789, capture SD 0, 69 df)","rule_kind":"standard_error","threshold":0.01573644564601808,"uncertainty":0.00788800946268073,"unit":"","verdict":"improved"},"wrinkle.depth":{"better":"lower","delta":-0.18549824928507977,"detectable":true,"note":"","percent":-83.54526947854932,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.08708 (SE 0.0437, capture SD 0.000235, 69 df)","rule_kind":"standard_error","threshold":0.0870825298797138,"uncertainty":0.043650805608667895,"unit":"L*","verdict":"improved"},"wrinkle.length_density":{"better":"lower","delta":-0.004447200065527899,"detectable":true,"note":"","percent":-66.64292183275707,"rule":"|Δ| vs 1.99·√(SE² + capture SD²) = 0.002388 (SE 0.0012, capture SD 4.76e-05, 69 df)","rule_kind":"standard_error","threshold":0.0023878092973061748,"uncertainty":0.0011969745255137317,"unit":"px/px²","verdict":"improved"}},"colour_truth":"none","date":"2026-02-02T09:30:00+01:00","kind":"comparison","metrics":{"color.L":{"note":"","uncertainty":0.1716964923525386,"unit":"L*","value":1e-07},"color.a":{"note":"","uncertainty":0.20408354573577892,"unit":"a*","value":1e+16},"color.b":{"note":"","uncertainty":0.1106603337617359,"unit":"b*","value":5e-324},"color.erythema_index":{"note":"","uncertainty":0.26729432136137743,"unit":"","value":18446744073709551617},"color.ita_deg":{"note":"","uncertainty":0.4100019151847331,"unit":"°","value":-0.0},"color.melanin_index":{"note":"","uncertainty":0.21133208799308675,"unit":"","value":123456789.12345679},"color.unevenness":{"note":"","uncertainty":0.09296261348533946,"unit":"ΔE00","value":0.1},"pore.area_fraction":{"note":"","uncertainty":0.0007915292894431211,"unit":"","value":0.0021232660436494785},"pore.density":{"note":"","uncertainty":0.5174635675449509,"unit":"1/10⁴px²","value":1.4428824669167664},"pore.mean_diameter":{"note":"","uncertainty":0.24754752784423273,"unit":"px","value":4.2914117892755215},"quality.clipped_fraction":{"note":"","uncertainty":0.0,"unit":"","value":0.0},"quality.sharpness":{"note":"","uncertainty":0.0416535381216126,"unit":"L*²/px²","value":3.687188824238068},"quality.specular_fraction":{"note":"","uncertainty":0.0,"unit":"","value":0.0},"scar.border_sharpness":{"note":"","uncertainty":0.006268733308560344,"unit":"L*/px","value":0.08857696704475972},"scar.delta_L":{"note":"","uncertainty":0.10166295050634158,"unit":"L*","value":-1.4080626541017693},"scar.delta_a":{"note":"","uncertainty":0.19915454078252295,"unit":"a*","value":4.684403504942127},"scar.delta_b":{"note":"","uncertainty":0.09042076405851658,"unit":"b*","value":1.2606442520478076},"scar.delta_e00":{"note":"","uncertainty":0.13854423748268954,"unit":"ΔE00","value":3.3823406204097326},"scar.delta_erythema":{"note":"","uncertainty":0.24006690495201907,"unit":"","value":6.235035725884508},"scar.delta_melanin":{"note":"","uncertainty":0.18619130576700677,"unit":"","value":-1.8664182919964116},"scar.texture_ratio":{"note":"","uncertainty":0.034870291599929715,"unit":"","value":0.7296568188601872},"scar.visibility_excess":{"note":"","uncertainty":0.10866747052321106,"unit":"ΔE00","value":0.8830421785586446},"scar.visible_area":{"note":"","uncertainty":675.2248153255583,"unit":"px²","value":3077.5105040910435},"scar.visible_fraction":{"note":"","uncertainty":0.04348606029487375,"unit":"","value":0.8474249522691885},"texture.anisotropy":{"note":"","uncertainty":0.005694479092084453,"unit":"","value":0.04041752639383762},"texture.band_coarse":{"note":"","uncertainty":0.03882273404836655,"unit":"L*","value":0.5163732348281235},"texture.band_fine":{"note":"","uncertainty":0.011712485504057929,"unit":"L*","value":0.5916107131496899},"texture.band_medium":{"note":"","uncertainty":0.027188285683271703,"unit":"L*","value":0.44603321378252697},"texture.glcm_contrast":{"note":"","uncertainty":0.052104664245720626,"unit":"","value":2.305062864386393},"texture.glcm_correlation":{"note":"","uncertainty":0.029255964538256084,"unit":"","value":0.4377343684552974},"texture.glcm_energy":{"note":"","uncertainty":0.0012827123601676785,"unit":"","value":0.04772293320980467},"texture.glcm_entropy":{"note":"","uncertainty":0.05363891757807665,"unit":"bit","value":4.886149262661406},"texture.glcm_homogeneity":{"note":"","uncertainty":0.003462097098536904,"unit":"","value":0.5311505600587616},"texture.lbp_entropy":{"note":"","uncertainty":0.008303324035197847,"unit":"bit","value":2.860624239380522},"texture.sa":{"note":"","uncertainty":0.02580295706274825,"unit":"L*","value":1.0829364660080403},"texture.sq":{"note":"","uncertainty":0.046347844276246726,"unit":"L*","value":1.405743798065511},"wrinkle.density":{"note":"","uncertainty":0.003445641812602442,"unit":"","value":0.00814197963474461},"wrinkle.depth":{"note":"","uncertainty":0.015800215383093265,"unit":"L*","value":0.03653496748814211},"wrinkle.length_density":{"note":"","uncertainty":0.000905619605972736,"unit":"px/px²","value":0.0022259768349212083}},"photo":{"bit_depth":32,"format":null,"height":192,"sha256":"701213d1460eaff17a0099ea9a234b08717ffc422f9891bf26e6d962108b9141","width":256},"photometric":{"exposure_ratio":1.0143063917586053,"exposure_shift_L":0.40003204345703125,"gains":[0.9875465924100049,0.985188440036673,0.9836738713711851],"region":"reference skin"},"pixel_size_mm":null,"quality_flags":[],"regions":{"lesion":{"area_px":3631,"carried_from_baseline":true,"mask_sha256":"06fd5eabd6eec14ad7a195a99b4ec6812f065422f8bd8fb3d32560ad10f29eb4"},"reference":{"area_px":10424,"carried_from_baseline":true,"default":"ring"},"roi":{"area_px":48514,"carried_from_baseline":true,"mask_sha256":"e7b1c6f4ccef568c19723f174b7f97f24c508327d22262dbaf7f0afc23205f9a"}},"schema_version":1,"session":"semaine 4 ✓","settings":{"align_max_side":768,"anisotropy_sigma_mm":0.5,"band_coarse_mm":[0.5,2.0],"band_fine_mm":[0.05,0.15],"band_medium_mm":[0.15,0.5],"blur_ratio":0.7,"border_width_mm":0.5,"capture_multiplier":1.0,"capture_prior_df":8.0,"chart_method":"cheung2004","chart_reference":"ColorChecker24 - After November 2014","clipped_max":0.01,"detail_sigma_mm":2.0,"exposure_shift_max":2.0,"fixed_light":false,"glcm_bin_width":1.0,"glcm_distance_mm":0.1,"glcm_levels":32,"jnd_delta_e00":2.3,"lbp_radius_mm":0.05,"map_max_side":768,"min_correlation":0.3,"min_overlap":0.5,"min_sharpness":0.5,"min_tile_mm":1.0,"nominal_pixel_size_mm":0.05,"pore_diameter_mm":[0.15,0.6],"pore_threshold":2.5,"reference_ring":[1.0,2.0],"specular_max":0.005,"target_tiles":64,"unevenness_sigma_mm":0.5,"visibility_sigma_mm":0.25,"wrinkle_elongation":3.0,"wrinkle_min_length_mm":1.0,"wrinkle_sigmas_mm":[0.1,0.2,0.4],"wrinkle_threshold":1.2,"z":1.96},"settings_sha256":"095510ea2621e08995e77261bf7c63c587e44e0b48ea9168f7a2792ff6b6225b","subject":"Zoë-7","test_retest_mdc95":null,"texturecmp_version":"0.1.0","warnings":[]}');


--
-- Data for Name: sessions; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.sessions VALUES (1, 1, 'week0', '2026-01-05');
INSERT INTO public.sessions VALUES (2, 1, 'week4', '2026-02-02T09:30:00+01:00');
INSERT INTO public.sessions VALUES (3, 2, 'référence', '2026-01-05');
INSERT INTO public.sessions VALUES (4, 2, 'semaine 4 ✓', '2026-02-02T09:30:00+01:00');


--
-- Data for Name: subjects; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.subjects VALUES (1, 'P-0001');
INSERT INTO public.subjects VALUES (2, 'Zoë-7');


--
-- Name: records_record_key_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.records_record_key_seq', 3, true);


--
-- Name: sessions_session_key_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.sessions_session_key_seq', 4, true);


--
-- Name: subjects_subject_key_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.subjects_subject_key_seq', 2, true);


--
-- Name: comparisons comparisons_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.comparisons
    ADD CONSTRAINT comparisons_pkey PRIMARY KEY (record_key);


--
-- Name: measurements measurements_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.measurements
    ADD CONSTRAINT measurements_pkey PRIMARY KEY (record_key, role);


--
-- Name: meta meta_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.meta
    ADD CONSTRAINT meta_pkey PRIMARY KEY (key);


--
-- Name: records records_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.records
    ADD CONSTRAINT records_id_key UNIQUE (id);


--
-- Name: records records_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.records
    ADD CONSTRAINT records_pkey PRIMARY KEY (record_key);


--
-- Name: sessions sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (session_key);


--
-- Name: sessions sessions_subject_key_session_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_subject_key_session_key UNIQUE (subject_key, session);


--
-- Name: subjects subjects_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.subjects
    ADD CONSTRAINT subjects_pkey PRIMARY KEY (subject_key);


--
-- Name: subjects subjects_subject_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.subjects
    ADD CONSTRAINT subjects_subject_key UNIQUE (subject);


--
-- Name: measurements_by_photo; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX measurements_by_photo ON public.measurements USING btree (photo_sha256);


--
-- Name: records_by_subject; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX records_by_subject ON public.records USING btree (subject_key, sort_key);


--
-- Name: comparisons comparisons_baseline_session_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.comparisons
    ADD CONSTRAINT comparisons_baseline_session_key_fkey FOREIGN KEY (baseline_session_key) REFERENCES public.sessions(session_key);


--
-- Name: comparisons comparisons_record_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.comparisons
    ADD CONSTRAINT comparisons_record_key_fkey FOREIGN KEY (record_key) REFERENCES public.records(record_key);


--
-- Name: comparisons comparisons_session_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.comparisons
    ADD CONSTRAINT comparisons_session_key_fkey FOREIGN KEY (session_key) REFERENCES public.sessions(session_key);


--
-- Name: measurements measurements_record_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.measurements
    ADD CONSTRAINT measurements_record_key_fkey FOREIGN KEY (record_key) REFERENCES public.records(record_key);


--
-- Name: measurements measurements_session_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.measurements
    ADD CONSTRAINT measurements_session_key_fkey FOREIGN KEY (session_key) REFERENCES public.sessions(session_key);


--
-- Name: records records_baseline_session_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.records
    ADD CONSTRAINT records_baseline_session_key_fkey FOREIGN KEY (baseline_session_key) REFERENCES public.sessions(session_key);


--
-- Name: records records_session_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.records
    ADD CONSTRAINT records_session_key_fkey FOREIGN KEY (session_key) REFERENCES public.sessions(session_key);


--
-- Name: records records_subject_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.records
    ADD CONSTRAINT records_subject_key_fkey FOREIGN KEY (subject_key) REFERENCES public.subjects(subject_key);


--
-- Name: sessions sessions_subject_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_subject_key_fkey FOREIGN KEY (subject_key) REFERENCES public.subjects(subject_key);


--
-- PostgreSQL database dump complete
--

\unrestrict Qvu6sOnM76abAzRxZqYEh0sz1qIfZJfMNeot7k77D4I4kRcMCf6dEqpJkkq3v2O

